"""Engines, transactions and the translation of database failures into ``StoreError``.

* SQLite: the ``pysqlite`` driver's own transaction handling is switched off
  (``isolation_level = None``) and every transaction is opened with ``BEGIN IMMEDIATE``: DDL in
  migrations is then transactional, and a writer (a connection with the execution option
  ``store_write=True``) takes the write lock at the start (``BEGIN IMMEDIATE``) instead of
  failing half-way when another session wrote first; readers begin a plain deferred
  transaction and, with the WAL journal, never wait for a writer. Foreign keys on, 30 s busy
  timeout.
* PostgreSQL: psycopg 3, ``pool_pre_ping`` so a restarted server is reconnected to silently,
  a 10 s connect timeout so a server that is down gives an error, not a hung page.
* Any other backend is refused: only these two are tested.

``translate`` turns SQLAlchemy and driver exceptions into one ``StoreError`` line with the
database named (password hidden) and a hint; the original stays chained for the log.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import URL, CursorResult, Engine, make_url

from store.errors import StoreError

HINT_URL = ('set COPROD_DB_URL or db_url in .streamlit/secrets.toml to a URL such as '
            'postgresql://user:password@host:5432/dbname, or COPROD_DB to a SQLite file path')


def parse(url: str) -> URL:
    """The parsed URL; ``StoreError`` when it names no database we can use."""
    try:
        parsed = make_url(url)
    except (exc.ArgumentError, ValueError) as error:  # ValueError: e.g. a port that is not a number
        raise StoreError(f"'{url}' is not a database URL", hint=HINT_URL) from error
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"database type '{parsed.get_backend_name()}' is not supported (SQLite and "
                         "PostgreSQL are)", file=shown(parsed), hint=HINT_URL)
    return parsed


def new_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an ``INSERT`` just added."""
    key = result.inserted_primary_key
    assert key is not None, "not the result of a single-row INSERT"
    return int(key[0])


def shown(url: URL) -> str:
    """The URL as it may appear in a message: password replaced by ***."""
    return url.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` configured as the module docstring says (nothing connects yet)."""
    parsed = parse(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                _make_folder(Path(parsed.database), shown(parsed))
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
        raise StoreError(f"cannot use the study database: {error}", file=shown(parsed), hint=HINT_URL) from error


def _make_folder(path: Path, where: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the folder for the study database: {error.strerror}",
                         file=where, hint="set COPROD_DB to a writable file path") from error


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("store_write") else "BEGIN")


@contextmanager
def translate(url: URL) -> Iterator[None]:
    """Re-raise database failures inside the block as ``StoreError`` (see the module docstring)."""
    try:
        yield
    except StoreError:
        raise
    except exc.DBAPIError as error:
        raise _failure(error, url) from error
    except exc.SQLAlchemyError as error:
        raise StoreError(f"the study database failed: {error}", file=shown(url), hint=HINT_URL) from error


def _failure(error: exc.DBAPIError, url: URL) -> StoreError:
    detail = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error.orig).__name__
    where = shown(url)
    if "locked" in detail or "busy" in detail:
        return StoreError("the study database is busy with another save", file=where,
                          hint="wait a moment and try again")
    if url.get_backend_name() == "sqlite":
        return StoreError(f"the study database cannot be read or written ({detail})", file=where,
                          hint="the file is damaged, not a database, or not writable: move it aside "
                               "(its saves stay in it) or set COPROD_DB to another file")
    if isinstance(error, exc.IntegrityError):
        return StoreError(f"the study database refused the change ({detail})", file=where,
                          hint="reload the study and try again")
    return StoreError(f"cannot use the study database ({detail})", file=where,
                      hint="check that the server is running and the URL (host, port, user, password, "
                           "database name) in COPROD_DB_URL or db_url is right")
