"""``Store``: the one object the pages use; each method is one transaction.

Every public method opens a connection, begins a transaction, calls one function of
``store.studies`` / ``store.tokens`` / ``store.saved`` and commits; any exception rolls the whole
transaction back, so a save that fails or is killed half-way leaves the previous version as it
was (the database never sees a commit). Database failures come out as ``StoreError``.

A ``Store`` holds an engine (a connection pool) and is safe to share between Streamlit's session
threads; create it once per process (``st.cache_resource``), not on every rerun: creating one
connects and runs the migration check.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import exc
from sqlalchemy.engine import Connection

from store import db, migrations, saved, studies, tokens
from store.config import default_url
from store.errors import StaleStudyError
from store.records import (SavedModel, SavedStudy, SavedView, StudyInfo, StudyRef, TokenInfo, VersionInfo,
                           ViewerGrant)

T = TypeVar("T")


class Store:
    """Saved studies, viewer links, models and views in one database.

    Parameters
    ----------
    url_or_path : str or path-like, optional
        A SQLAlchemy URL or a SQLite file path; default ``store.default_url()``.

    Raises
    ------
    StoreError
        The database cannot be reached or read, or has a newer schema.
    """

    def __init__(self, url_or_path: str | os.PathLike[str] | None = None):
        self.url = default_url(url_or_path)
        self._url = db.parse(self.url)
        self._engine = db.make_engine(self.url)
        self.schema_version = self._run(lambda c: migrations.upgrade(c, db.shown(self._url)))

    def __repr__(self) -> str:
        return f"Store({db.shown(self._url)!r})"

    @property
    def shown_url(self) -> str:
        """The database URL with the password hidden, for messages and the log."""
        return db.shown(self._url)

    def close(self) -> None:
        """Close the pooled connections (the object may still be used; it reconnects)."""
        self._engine.dispose()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Connection]:
        with db.translate(self._url), self._engine.connect() as conn:
            conn = conn.execution_options(store_write=write)
            with conn.begin():
                yield conn

    def _run(self, work: Callable[[Connection], T], *, write: bool = True) -> T:
        with self._transaction(write) as conn:
            return work(conn)

    def _read(self, work: Callable[[Connection], T]) -> T:
        return self._run(work, write=False)

    # -- studies -----------------------------------------------------------------------
    def save_study(self, name: str, definition_yaml: str, files: dict[str, bytes], *, min_n: int = 5,
                   settings: dict[str, Any] | None = None, expected_version: int | None = None,
                   owner_password: str | None = None, saved_by: str | None = None) -> StudyRef:
        """Save a new version of a study (creating it if its slug is new).

        Parameters
        ----------
        name : str
            The study's name; its slug (``studies.slugify``) identifies it.
        definition_yaml : str
            The study definition (``analysis.study.to_yaml``), stored as given.
        files : dict of str to bytes
            The data files as loaded, by file name (contents stored once per sha256).
        min_n : int
            The privacy threshold saved with this version.
        settings : dict, optional
            JSON-able page settings.
        expected_version : int, optional
            The version the edit started from: must equal the latest version of an existing
            study; None (or 0) for a new study.
        owner_password : str, optional
            Required if the study has one; sets it when the study has none yet.
        saved_by : str, optional
            Who saved (shown in the history).

        Returns
        -------
        StudyRef
            The study and the new version number.

        Raises
        ------
        StaleStudyError
            Someone saved (or created, or deleted) the study since ``expected_version``.
        OwnerError
            The study has an owner password and it was not given correctly.
        StoreError
            Bad arguments, or the database failed (nothing was saved).
        """
        def work(conn: Connection) -> StudyRef:
            return studies.save(conn, name, definition_yaml, files, min_n=min_n, settings=settings,
                                expected_version=expected_version, owner_password=owner_password,
                                saved_by=saved_by)
        try:
            return self._run(work)
        except StaleStudyError:
            raise
        except exc.IntegrityError as error:  # pragma: no cover - a race between two savers
            raise StaleStudyError(f"study '{studies.slugify(name)}' was saved by someone else at the same time",
                                  key=studies.slugify(name), hint="reload the latest version and save again") \
                from error

    def load_study(self, id_or_slug: int | str, version: int | None = None) -> SavedStudy:
        """One version of a study (default the latest) with its files; ``StoreError`` if absent."""
        return self._read(lambda c: studies.load(c, id_or_slug, version))

    def latest_version(self, slug: str) -> int | None:
        """The study's latest version number, or None if there is no such study.

        Pass it as ``expected_version`` when saving an edit started now.
        """
        def work(conn: Connection) -> int | None:
            row = studies.find(conn, slug)
            return None if row is None else studies.latest(conn, row.id)
        return self._read(work)

    def versions(self, slug: str) -> list[VersionInfo]:
        """The study's versions, oldest first (no file contents)."""
        return self._read(lambda c: studies.versions(c, slug))

    def list_studies(self) -> list[StudyInfo]:
        """Every saved study with its latest version, by name."""
        return self._read(studies.list_all)

    def delete_study(self, slug: str) -> None:
        """Delete a study with all its versions, links, models and views."""
        self._run(lambda c: studies.delete_study(c, slug))

    # -- owner and viewers -----------------------------------------------------------------
    def check_owner(self, slug: str, password: str | None) -> bool:
        """Whether ``password`` is the study's owner password (True when it has none)."""
        return self._read(lambda c: studies.check_owner(c, slug, password))

    def set_owner_password(self, slug: str, new_password: str | None, *,
                           current_password: str | None = None) -> None:
        """Set, change or (None) remove the owner password; ``OwnerError`` if the current one is wrong."""
        self._run(lambda c: studies.set_owner_password(c, slug, new_password, current_password))

    def create_viewer_token(self, slug: str, *, expires_at: datetime | None = None,
                            label: str | None = None) -> str:
        """A new viewer token for the study (shown once; only its hash is stored)."""
        return self._run(lambda c: tokens.create(c, slug, expires_at=expires_at, label=label))

    def resolve_viewer_token(self, token: str) -> ViewerGrant:
        """The study a viewer token opens; ``TokenError`` if unknown, revoked or expired."""
        return self._read(lambda c: tokens.resolve(c, token))

    def revoke_viewer_token(self, slug: str, token_or_id: str | int) -> None:
        """Revoke a viewer token of the study, given the token or its id."""
        self._run(lambda c: tokens.revoke(c, slug, token_or_id))

    def list_viewer_tokens(self, slug: str) -> list[TokenInfo]:
        """The study's viewer tokens, newest first, without the tokens themselves."""
        return self._read(lambda c: tokens.list_tokens(c, slug))

    # -- models and views --------------------------------------------------------------
    def save_model(self, slug: str, formula: str, options: dict[str, Any] | None, result: Any, *,
                   version: int | None = None) -> int:
        """Save a fitted model with the study (``version`` default: its latest); the model's id."""
        return self._run(lambda c: saved.save_model(c, slug, formula, options, result, version))

    def list_models(self, slug: str) -> list[SavedModel]:
        """The study's saved models, oldest first."""
        return self._read(lambda c: saved.list_models(c, slug))

    def save_view(self, slug: str, page: str, query_params: dict[str, Any], name: str | None = None) -> int:
        """Save a page and its query parameters with the study; the view's id."""
        return self._run(lambda c: saved.save_view(c, slug, page, query_params, name))

    def list_views(self, slug: str) -> list[SavedView]:
        """The study's saved views, oldest first."""
        return self._read(lambda c: saved.list_views(c, slug))
