"""Saved models and saved views: small JSON records belonging to a study.

A model records the study version it was fitted on (default: the latest at the time), so a
model table reopened after the data changed can say which data it came from.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from store import schema as t
from store.db import new_id
from store.errors import StoreError
from store.records import SavedModel, SavedView
from store.studies import latest, require
from store.values import dumps, from_db, loads, now, to_db


def save_model(conn: Connection, slug: str, formula: str, options: dict[str, Any] | None, result: Any,
               version: int | None) -> int:
    """Store a fitted model; its id."""
    study = require(conn, slug)
    if not isinstance(formula, str) or not formula.strip():
        raise StoreError("a saved model needs its formula", key="formula")
    row = t.saved_models.insert().values(
        study_id=study.id, study_version=latest(conn, study.id) if version is None else version,
        formula=formula, options_json=dumps(options or {}, "options"), result_json=dumps(result, "result"),
        created_at=to_db(now()))
    return new_id(conn.execute(row))


def list_models(conn: Connection, slug: str) -> list[SavedModel]:
    """The study's saved models, oldest first."""
    study = require(conn, slug)
    rows = conn.execute(select(t.saved_models).where(t.saved_models.c.study_id == study.id)
                        .order_by(t.saved_models.c.id))
    return [SavedModel(id=r.id, formula=r.formula, options=loads(r.options_json), result=loads(r.result_json),
                       study_version=r.study_version, saved_at=from_db(r.created_at) or now()) for r in rows]


def save_view(conn: Connection, slug: str, page: str, query_params: dict[str, Any], name: str | None) -> int:
    """Store a page and its query parameters; its id."""
    study = require(conn, slug)
    if not isinstance(page, str) or not page.strip():
        raise StoreError("a saved view needs its page", key="page")
    row = t.saved_views.insert().values(study_id=study.id, page=page, name=name,
                                        query_json=dumps(query_params or {}, "query_params"),
                                        created_at=to_db(now()))
    return new_id(conn.execute(row))


def list_views(conn: Connection, slug: str) -> list[SavedView]:
    """The study's saved views, oldest first."""
    study = require(conn, slug)
    rows = conn.execute(select(t.saved_views).where(t.saved_views.c.study_id == study.id)
                        .order_by(t.saved_views.c.id))
    return [SavedView(id=r.id, page=r.page, query_params=loads(r.query_json), name=r.name,
                      saved_at=from_db(r.created_at) or now()) for r in rows]
