"""The tables as the code queries them (SQLAlchemy Core), at ``SCHEMA_VERSION``.

Tables: ``studies`` (name, unique slug, owner password hash) -> ``study_versions`` (definition
YAML, min_n, settings, who and when) -> ``version_files`` (filename -> ``files.sha256``);
``files`` holds each distinct content once (sha256 key), so saving version 7 of a study with the
same 100 MB survey stores no new bytes. ``viewer_tokens``, ``saved_models`` and ``saved_views``
belong to a study. Children are deleted with their study in the same transaction (explicitly,
not only by ``ON DELETE CASCADE``, which SQLite applies only with a pragma).

This module describes the *current* schema; ``store.migrations`` builds it step by step, and a
test checks that the two agree. Change both together: add a migration, never edit an old one.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, DateTime, ForeignKey, Integer, LargeBinary, MetaData,
                        String, Table, Text, UniqueConstraint)

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

files = Table(
    "files", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
)

studies = Table(
    "studies", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("slug", String(100), nullable=False, unique=True),
    Column("owner_hash", String(300)),
    Column("created_at", DateTime, nullable=False),
)

study_versions = Table(
    "study_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition_yaml", Text, nullable=False),
    Column("min_n", Integer, nullable=False),
    Column("settings_json", Text, nullable=False),
    Column("saved_by", String(200)),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("study_id", "version", name="study_versions_unique"),
)

version_files = Table(
    "version_files", metadata,
    Column("version_id", Integer, ForeignKey("study_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("filename", String(500), nullable=False),
    Column("sha256", String(64), ForeignKey("files.sha256"), nullable=False),
)

viewer_tokens = Table(
    "viewer_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(200)),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime),
    Column("revoked_at", DateTime),
)

saved_models = Table(
    "saved_models", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("study_version", Integer),
    Column("formula", Text, nullable=False),
    Column("options_json", Text, nullable=False),
    Column("result_json", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

saved_views = Table(
    "saved_views", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("page", String(200), nullable=False),
    Column("name", String(200)),
    Column("query_json", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

STUDY_CHILDREN = (viewer_tokens, saved_models, saved_views)
