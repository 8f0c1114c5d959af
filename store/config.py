"""Which database the store uses, and how that choice is made.

``default_url`` looks in this order and takes the first that is set:

1. the explicit argument (a URL, or a path to a SQLite file);
2. the environment variable ``COPROD_DB_URL`` (a SQLAlchemy URL);
3. the key ``db_url`` of ``.streamlit/secrets.toml`` in the project, then of
   ``~/.streamlit/secrets.toml`` (read with ``tomllib``: the store never imports Streamlit,
   so scripts and tests use the same configuration as the dashboard);
4. the environment variable ``COPROD_DB`` (a path to a SQLite file; what the earlier
   store read, so existing set-ups keep their place);
5. ``data_store/dashboard.sqlite3`` under the project: nothing to set up.

A value containing ``://`` is a URL; anything else is a file path. ``postgresql://`` and
``postgres://`` URLs are given the psycopg (version 3) driver, the one the requirements install.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from store.errors import StoreError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATH = ROOT / "data_store" / "dashboard.sqlite3"
SECRETS_FILES = (ROOT / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml")
URL_VARIABLE = "COPROD_DB_URL"
PATH_VARIABLE = "COPROD_DB"
SECRETS_KEY = "db_url"


def default_url(explicit: str | os.PathLike[str] | None = None, *,
                environ: Mapping[str, str] | None = None,
                secrets_files: tuple[Path, ...] | None = None) -> str:
    """The SQLAlchemy URL of the study database (see the module docstring for the order).

    Parameters
    ----------
    explicit : str or path-like, optional
        A URL or a SQLite file path; wins over every setting.
    environ : mapping, optional
        The environment to read (default ``os.environ``); for tests.
    secrets_files : tuple of Path, optional
        The secrets files to read, first found wins (default: the project's, then the user's).

    Returns
    -------
    str
        A URL such as ``sqlite:////abs/path.sqlite3`` or ``postgresql+psycopg://...``.

    Raises
    ------
    StoreError
        A secrets file that is not valid TOML, or a ``db_url`` that is not a string.
    """
    env = os.environ if environ is None else environ
    if explicit is not None and str(explicit).strip():
        return to_url(str(explicit))
    if env.get(URL_VARIABLE, "").strip():
        return to_url(env[URL_VARIABLE])
    for path in secrets_files if secrets_files is not None else SECRETS_FILES:
        value = _secret(path)
        if value:
            return to_url(value)
    if env.get(PATH_VARIABLE, "").strip():
        return to_url(env[PATH_VARIABLE])
    return to_url(str(DEFAULT_PATH))


def to_url(value: str) -> str:
    """A URL as given (with the psycopg driver filled in), or ``sqlite:///`` + an absolute path."""
    value = value.strip()
    if "://" not in value:
        return "sqlite:///" + str(Path(value).expanduser().resolve())
    scheme, rest = value.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    return f"{scheme}://{rest}"


def _secret(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        value = tomllib.loads(text).get(SECRETS_KEY)
    except tomllib.TOMLDecodeError as exc:
        raise StoreError(f"the secrets file is not valid TOML: {exc}", file=str(path),
                         hint="fix the line named, or remove the file") from exc
    if value is not None and not isinstance(value, str):
        raise StoreError("db_url must be a string (a database URL)", file=str(path), key=SECRETS_KEY,
                         hint='e.g. db_url = "postgresql://user:password@host:5432/dashboard"')
    return value
