"""Viewer links: unguessable tokens that open a study's aggregated screens, stored only hashed.

A token is ``secrets.token_urlsafe(32)`` (256 random bits). The database keeps its sha256 and
never the token, so a copy of the database (a backup, a leaked dump) opens no study; the owner
sees the token once, when it is made. Lookup is by hash (an index seek), so no constant-time
comparison is needed: a timing difference can only reveal whether a *hash* prefix exists. A
plain, unsalted sha256 is enough here because the token itself is random, not a password.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from store import schema as t
from store.errors import TokenError
from store.records import TokenInfo, ViewerGrant
from store.studies import require
from store.values import from_db, now, to_db


def token_hash(token: str) -> str:
    """The sha256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(conn: Connection, slug: str, *, expires_at: datetime | None, label: str | None) -> str:
    """A new token for the study; the only time the token itself exists outside the link."""
    study = require(conn, slug)
    token = secrets.token_urlsafe(32)
    conn.execute(t.viewer_tokens.insert().values(study_id=study.id, token_hash=token_hash(token), label=label,
                                                 created_at=to_db(now()), expires_at=to_db(expires_at)))
    return token


def resolve(conn: Connection, token: str) -> ViewerGrant:
    """The study a token opens; ``TokenError`` if unknown, revoked or expired."""
    row = None
    if isinstance(token, str) and token:
        row = conn.execute(select(t.viewer_tokens, t.studies.c.slug)
                           .join(t.studies, t.studies.c.id == t.viewer_tokens.c.study_id)
                           .where(t.viewer_tokens.c.token_hash == token_hash(token))).first()
    if row is None:
        raise TokenError("this viewer link is not valid", key="token",
                         hint="check that the whole link was copied, or ask the study's owner for a new one")
    if row.revoked_at is not None:
        raise TokenError("this viewer link was revoked by the study's owner", key="token",
                         hint="ask the owner for a new link")
    expires_at = from_db(row.expires_at)
    if expires_at is not None and expires_at <= now():
        raise TokenError(f"this viewer link expired on {expires_at:%Y-%m-%d %H:%M} UTC", key="token",
                         hint="ask the study's owner for a new link")
    return ViewerGrant(slug=row.slug, study_id=row.study_id, label=row.label, expires_at=expires_at)


def revoke(conn: Connection, slug: str, token_or_id: str | int) -> None:
    """Revoke one of the study's tokens, given the token or its id (from ``list_tokens``)."""
    study = require(conn, slug)
    column = t.viewer_tokens.c.id if isinstance(token_or_id, int) else t.viewer_tokens.c.token_hash
    value = token_or_id if isinstance(token_or_id, int) else token_hash(token_or_id)
    done = conn.execute(t.viewer_tokens.update()
                        .where(column == value, t.viewer_tokens.c.study_id == study.id,
                               t.viewer_tokens.c.revoked_at.is_(None))
                        .values(revoked_at=to_db(now())))
    if done.rowcount == 0:
        exists = conn.execute(select(t.viewer_tokens.c.id).where(
            column == value, t.viewer_tokens.c.study_id == study.id)).first()
        if exists is None:
            raise TokenError(f"study '{slug}' has no such viewer link", key="token",
                             hint="list_viewer_tokens() shows its links")


def list_tokens(conn: Connection, slug: str) -> list[TokenInfo]:
    """The study's tokens (id, label, times), newest first; never the tokens themselves."""
    study = require(conn, slug)
    rows = conn.execute(select(t.viewer_tokens).where(t.viewer_tokens.c.study_id == study.id)
                        .order_by(t.viewer_tokens.c.id.desc()))
    return [TokenInfo(id=r.id, label=r.label, created_at=from_db(r.created_at) or now(),
                      expires_at=from_db(r.expires_at), revoked_at=from_db(r.revoked_at)) for r in rows]
