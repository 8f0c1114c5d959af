"""The plain values the store returns: frozen dataclasses, no database objects.

Callers (the pages) never hold a connection or a row; everything is copied out inside the
transaction that read it, so a value stays valid after the connection is gone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StudyRef:
    """Which study and which version of it: what a save returns."""
    id: int
    name: str
    slug: str
    version: int


@dataclass(frozen=True)
class SavedStudy:
    """One version of a study as it was saved."""
    ref: StudyRef
    definition_yaml: str
    files: dict[str, bytes]
    min_n: int
    settings: dict[str, Any]
    saved_at: datetime
    saved_by: str | None


@dataclass(frozen=True)
class VersionInfo:
    """One version in a study's history, without its file contents."""
    version: int
    saved_at: datetime
    saved_by: str | None
    min_n: int
    filenames: tuple[str, ...]


@dataclass(frozen=True)
class StudyInfo:
    """A study in the list of saved studies."""
    id: int
    name: str
    slug: str
    version: int
    saved_at: datetime
    saved_by: str | None
    has_owner_password: bool


@dataclass(frozen=True)
class ViewerGrant:
    """What a valid viewer token gives access to."""
    slug: str
    study_id: int
    label: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenInfo:
    """A viewer token as listed for its owner: never the token itself."""
    id: int
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        """``'active'``, ``'revoked'`` or ``'expired'`` (as of now)."""
        from store.values import now
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now():
            return "expired"
        return "active"


@dataclass(frozen=True)
class SavedModel:
    """A fitted model saved with its study."""
    id: int
    formula: str
    options: dict[str, Any]
    result: Any
    study_version: int | None
    saved_at: datetime


@dataclass(frozen=True)
class SavedView:
    """A page and its query parameters, to reopen a screen as it was."""
    id: int
    page: str
    query_params: dict[str, Any]
    name: str | None
    saved_at: datetime
