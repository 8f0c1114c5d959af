"""Saving and loading study versions (functions on an open connection, inside a transaction).

A study is identified by its *slug*, derived from its name (lower case, runs of other characters
as ``-``): "Staff survey 2025" and "staff-survey-2025" are the same study. Every save adds a
version; none is ever changed or removed except by deleting the whole study.

The last-writer check: saving an existing study needs ``expected_version`` equal to its latest
version. The latest version is read with ``FOR UPDATE`` on PostgreSQL (SQLite's ``BEGIN
IMMEDIATE`` already serialises writers), and the unique ``(study_id, version)`` constraint catches
any race left: two owners saving from version 3 get one version 4 and one ``StaleStudyError``.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row

from store import schema as t
from store.db import new_id
from store.errors import OwnerError, StaleStudyError, StoreError
from store.passwords import hash_password, verify_password
from store.records import SavedStudy, StudyInfo, StudyRef, VersionInfo
from store.values import dumps, from_db, loads, now, to_db


def slugify(name: str) -> str:
    """The slug of a study name: ``'Staff survey (2025)'`` -> ``'staff-survey-2025'``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100].strip("-")
    return slug or "study"


def find(conn: Connection, id_or_slug: int | str, *, lock: bool = False) -> Row | None:
    """The ``studies`` row by id (an int) or slug (a str), or None."""
    column = t.studies.c.id if isinstance(id_or_slug, int) else t.studies.c.slug
    query = select(t.studies).where(column == id_or_slug)
    return conn.execute(query.with_for_update() if lock else query).first()


def require(conn: Connection, id_or_slug: int | str, *, lock: bool = False) -> Row:
    """The ``studies`` row, or ``StoreError`` saying there is no such study."""
    row = find(conn, id_or_slug, lock=lock)
    if row is None:
        raise StoreError(f"there is no saved study '{id_or_slug}'", key=str(id_or_slug),
                         hint="it may have been deleted; choose one from the list of saved studies")
    return row


def latest(conn: Connection, study_id: int) -> int | None:
    """The latest version number of a study (None if it has none)."""
    return conn.execute(select(func.max(t.study_versions.c.version))
                        .where(t.study_versions.c.study_id == study_id)).scalar()


def save(conn: Connection, name: str, definition_yaml: str, files: dict[str, bytes], *, min_n: int,
         settings: dict[str, Any] | None, expected_version: int | None, owner_password: str | None,
         saved_by: str | None) -> StudyRef:
    """Add a version (creating the study if new); see ``Store.save_study``."""
    _check_arguments(name, definition_yaml, files, min_n)
    settings_json = dumps(settings or {}, "settings")
    slug = slugify(name)
    row = find(conn, slug, lock=True)
    if row is None:
        if expected_version:
            raise StaleStudyError(f"study '{slug}' no longer exists (you were editing version "
                                  f"{expected_version})", key=slug,
                                  hint="save it again without a version to create it anew")
        study_id = new_id(conn.execute(t.studies.insert().values(
            name=name, slug=slug, created_at=to_db(now()),
            owner_hash=hash_password(owner_password) if owner_password else None)))
        version = 1
    else:
        study_id, current = row.id, latest(conn, row.id) or 0
        if not expected_version:
            raise StaleStudyError(f"a study '{slug}' already exists (version {current})", key=slug,
                                  hint="open it and save from there, or choose another name")
        if expected_version != current:
            raise StaleStudyError(
                f"study '{slug}' is at version {current}, not {expected_version}: someone saved it "
                "since you opened it", key=slug,
                hint="reload the latest version, redo your changes, and save again")
        if row.owner_hash and not (owner_password and verify_password(owner_password, row.owner_hash)):
            raise OwnerError(f"the owner password for study '{slug}' is wrong or missing", key=slug,
                             hint="ask the study's owner for it")
        changes: dict[str, Any] = {"name": name}
        if owner_password and not row.owner_hash:
            changes["owner_hash"] = hash_password(owner_password)
        conn.execute(t.studies.update().where(t.studies.c.id == study_id).values(**changes))
        version = current + 1
    version_id = new_id(conn.execute(t.study_versions.insert().values(
        study_id=study_id, version=version, definition_yaml=definition_yaml, min_n=int(min_n),
        settings_json=settings_json, saved_by=saved_by, created_at=to_db(now()))))
    for position, (filename, sha) in enumerate(_put_files(conn, files)):
        conn.execute(t.version_files.insert().values(version_id=version_id, position=position,
                                                     filename=filename, sha256=sha))
    return StudyRef(id=study_id, name=name, slug=slug, version=version)


def _check_arguments(name: str, definition_yaml: str, files: dict[str, bytes], min_n: int) -> None:
    if not isinstance(name, str) or not name.strip():
        raise StoreError("a study needs a name", key="name")
    if not isinstance(definition_yaml, str):
        raise StoreError("the study definition must be YAML text", key="definition_yaml")
    if not all(isinstance(k, str) and isinstance(v, (bytes, bytearray, memoryview)) for k, v in files.items()):
        raise StoreError("files must map file names to their bytes", key="files")
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1:
        raise StoreError(f"min_n must be a whole number of at least 1, not {min_n!r}", key="min_n")


def _put_files(conn: Connection, files: dict[str, bytes]) -> list[tuple[str, str]]:
    """Store each content once (by sha256); the (filename, sha256) pairs in the given order."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    out = []
    for filename, content in files.items():
        data = bytes(content)
        sha = hashlib.sha256(data).hexdigest()
        conn.execute(insert(t.files).values(sha256=sha, size=len(data), content=data)
                     .on_conflict_do_nothing(index_elements=["sha256"]))
        out.append((filename, sha))
    return out


def load(conn: Connection, id_or_slug: int | str, version: int | None) -> SavedStudy:
    """One version (the latest by default) with its files; see ``Store.load_study``."""
    study = require(conn, id_or_slug)
    number = latest(conn, study.id) if version is None else version
    row = conn.execute(select(t.study_versions).where(t.study_versions.c.study_id == study.id,
                                                      t.study_versions.c.version == number)).first()
    if row is None:
        raise StoreError(f"study '{study.slug}' has no version {number}", key=study.slug,
                         hint="versions() lists the saved versions")
    query = (select(t.version_files.c.filename, t.files.c.content)
             .join(t.files, t.files.c.sha256 == t.version_files.c.sha256)
             .where(t.version_files.c.version_id == row.id).order_by(t.version_files.c.position))
    files = {name: bytes(content) for name, content in conn.execute(query)}
    saved_at = from_db(row.created_at)
    assert saved_at is not None
    return SavedStudy(ref=StudyRef(study.id, study.name, study.slug, row.version),
                      definition_yaml=row.definition_yaml, files=files, min_n=row.min_n,
                      settings=loads(row.settings_json) or {}, saved_at=saved_at, saved_by=row.saved_by)


def versions(conn: Connection, slug: str) -> list[VersionInfo]:
    """Every version of a study, oldest first, without file contents."""
    study = require(conn, slug)
    rows = conn.execute(select(t.study_versions).where(t.study_versions.c.study_id == study.id)
                        .order_by(t.study_versions.c.version)).all()
    names: dict[int, list[str]] = {}
    for version_id, filename in conn.execute(
            select(t.version_files.c.version_id, t.version_files.c.filename)
            .join(t.study_versions, t.study_versions.c.id == t.version_files.c.version_id)
            .where(t.study_versions.c.study_id == study.id).order_by(t.version_files.c.position)):
        names.setdefault(version_id, []).append(filename)
    return [VersionInfo(version=r.version, saved_at=from_db(r.created_at) or now(), saved_by=r.saved_by,
                        min_n=r.min_n, filenames=tuple(names.get(r.id, ()))) for r in rows]


def list_all(conn: Connection) -> list[StudyInfo]:
    """Every study with its latest version, by name."""
    last = (select(t.study_versions.c.study_id, func.max(t.study_versions.c.version).label("version"))
            .group_by(t.study_versions.c.study_id).subquery())
    query = (select(t.studies, t.study_versions.c.version, t.study_versions.c.created_at.label("saved_at"),
                    t.study_versions.c.saved_by)
             .join(last, last.c.study_id == t.studies.c.id)
             .join(t.study_versions, (t.study_versions.c.study_id == last.c.study_id)
                   & (t.study_versions.c.version == last.c.version))
             .order_by(t.studies.c.name, t.studies.c.slug))
    return [StudyInfo(id=r.id, name=r.name, slug=r.slug, version=r.version,
                      saved_at=from_db(r.saved_at) or now(), saved_by=r.saved_by,
                      has_owner_password=r.owner_hash is not None) for r in conn.execute(query)]


def delete_study(conn: Connection, slug: str) -> None:
    """Remove a study, all its versions and belongings, and file contents no other version uses."""
    study = require(conn, slug, lock=True)
    for table in t.STUDY_CHILDREN:
        conn.execute(delete(table).where(table.c.study_id == study.id))
    version_ids = select(t.study_versions.c.id).where(t.study_versions.c.study_id == study.id)
    conn.execute(delete(t.version_files).where(t.version_files.c.version_id.in_(version_ids)))
    conn.execute(delete(t.study_versions).where(t.study_versions.c.study_id == study.id))
    conn.execute(delete(t.studies).where(t.studies.c.id == study.id))
    conn.execute(delete(t.files).where(t.files.c.sha256.not_in(select(t.version_files.c.sha256))))


def check_owner(conn: Connection, slug: str, password: str | None) -> bool:
    """Whether ``password`` opens the owner's screens (True when no password is set)."""
    study = require(conn, slug)
    if study.owner_hash is None:
        return True
    return bool(password) and verify_password(str(password), study.owner_hash)


def set_owner_password(conn: Connection, slug: str, new_password: str | None, current_password: str | None) -> None:
    """Set, change or (``None``) remove the owner password; the current one is needed if set."""
    if not check_owner(conn, slug, current_password):
        raise OwnerError(f"the owner password for study '{slug}' is wrong or missing", key=slug,
                         hint="give the current password to change it")
    conn.execute(t.studies.update().where(t.studies.c.slug == slug)
                 .values(owner_hash=hash_password(new_password) if new_password else None))
