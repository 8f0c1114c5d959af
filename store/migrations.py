"""Versioned schema migrations, kept in the repository (no Alembic: one short ordered list).

``MIGRATIONS[i]`` brings a database from version ``i`` to ``i + 1``; ``schema_version`` holds
the version reached. ``upgrade`` runs the missing ones, all in one transaction together with the
version update (PostgreSQL and SQLite both roll DDL back), under a lock so two dashboards
starting at once do not both migrate: an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite (see ``store.db``). A database at a newer version than this code knows is refused, never
touched: an older dashboard must not write into a layout it does not understand.

Each migration is frozen history: it defines the tables as they were at that version (its own
``MetaData``), so a database created long ago and one created today end at the same schema.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (BigInteger, Column, DateTime, ForeignKey, Integer, LargeBinary, MetaData,
                        String, Table, Text, UniqueConstraint, inspect, select, text)
from sqlalchemy.engine import Connection

from store import schema
from store.errors import StoreError

ADVISORY_LOCK_ID = 0x5707E  # any constant; only this store takes it


def _v1(conn: Connection) -> None:
    """Studies with versions, deduplicated files, viewer tokens, saved models and views."""
    m = MetaData()
    Table("files", m, Column("sha256", String(64), primary_key=True),
          Column("size", BigInteger, nullable=False), Column("content", LargeBinary, nullable=False))
    Table("studies", m, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("name", String(200), nullable=False), Column("slug", String(100), nullable=False, unique=True),
          Column("owner_hash", String(300)), Column("created_at", DateTime, nullable=False))
    study = ForeignKey("studies.id", ondelete="CASCADE")
    Table("study_versions", m, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("study_id", Integer, study, nullable=False), Column("version", Integer, nullable=False),
          Column("definition_yaml", Text, nullable=False), Column("min_n", Integer, nullable=False),
          Column("settings_json", Text, nullable=False), Column("saved_by", String(200)),
          Column("created_at", DateTime, nullable=False),
          UniqueConstraint("study_id", "version", name="study_versions_unique"))
    Table("version_files", m,
          Column("version_id", Integer, ForeignKey("study_versions.id", ondelete="CASCADE"), primary_key=True),
          Column("position", Integer, primary_key=True), Column("filename", String(500), nullable=False),
          Column("sha256", String(64), ForeignKey("files.sha256"), nullable=False))
    Table("viewer_tokens", m, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
          Column("token_hash", String(64), nullable=False, unique=True), Column("label", String(200)),
          Column("created_at", DateTime, nullable=False), Column("expires_at", DateTime),
          Column("revoked_at", DateTime))
    Table("saved_models", m, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
          Column("study_version", Integer), Column("formula", Text, nullable=False),
          Column("options_json", Text, nullable=False), Column("result_json", Text, nullable=False),
          Column("created_at", DateTime, nullable=False))
    Table("saved_views", m, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
          Column("page", String(200), nullable=False), Column("name", String(200)),
          Column("query_json", Text, nullable=False), Column("created_at", DateTime, nullable=False))
    m.create_all(conn)


MIGRATIONS: list[Callable[[Connection], None]] = [_v1]
SCHEMA_VERSION = len(MIGRATIONS)

# The earlier SQLite store (analysis/store.py) used the same default file and a table of the same
# name; its databases are recognised by this table and refused rather than misread.
LEGACY_TABLE = "study_datasets"


def current_version(conn: Connection) -> int:
    """The version recorded in ``schema_version`` (0 for a database without the table)."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    value = conn.execute(select(schema.schema_version.c.version)).scalar()
    return int(value or 0)


def upgrade(conn: Connection, where: str) -> int:
    """Bring the database to ``SCHEMA_VERSION`` inside the caller's transaction.

    Parameters
    ----------
    conn : Connection
        A connection with a transaction begun (committed by the caller).
    where : str
        The database, as shown in messages (password hidden).

    Returns
    -------
    int
        The schema version after the upgrade.

    Raises
    ------
    StoreError
        The database was written by a newer schema, or by the earlier store.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
    inspector = inspect(conn)
    if inspector.has_table(LEGACY_TABLE):
        raise StoreError("this database was written by the earlier saved-studies store and cannot be "
                         "read by this one", file=where,
                         hint="move the file aside (its saves stay in it), or set COPROD_DB / "
                              "COPROD_DB_URL to a new database")
    if not inspector.has_table("schema_version"):
        schema.schema_version.create(conn)
        conn.execute(schema.schema_version.insert().values(version=0))
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(f"the study database has schema version {version}, newer than this dashboard "
                         f"understands (version {SCHEMA_VERSION}); it was left untouched", file=where,
                         hint="update the dashboard to the version that wrote it, or point "
                              "COPROD_DB_URL / db_url at another database")
    for step in range(version, SCHEMA_VERSION):
        MIGRATIONS[step](conn)
        conn.execute(schema.schema_version.update().values(version=step + 1))
    return SCHEMA_VERSION
