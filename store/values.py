"""How Python values become column values and back: times and JSON.

* Times are stored as UTC without a zone (``DateTime`` columns) and returned as aware UTC
  ``datetime``: SQLite has no zone-aware type, and one convention for both backends keeps the
  comparison of an expiry with "now" the same everywhere. A naive ``datetime`` given by a
  caller is taken to be UTC.
* Settings, options, results and query parameters are JSON text, written with
  ``analysis.results.to_jsonable`` (numpy and pandas values, NaN as null) and sorted keys, so
  equal values give equal text.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from analysis.results import to_jsonable
from store.errors import StoreError


def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(timezone.utc)


def to_db(value: datetime | None) -> datetime | None:
    """UTC without a zone, for a ``DateTime`` column (naive input is taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def from_db(value: datetime | None) -> datetime | None:
    """Aware UTC from a ``DateTime`` column."""
    return None if value is None else value.replace(tzinfo=timezone.utc)


def dumps(value: Any, what: str) -> str:
    """JSON text of ``value``; ``StoreError`` naming ``what`` if it cannot be written."""
    try:
        return json.dumps(to_jsonable(value), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} cannot be saved as JSON: {exc}", key=what,
                         hint="save plain numbers, text, lists and dictionaries") from exc


def loads(text: str | None) -> Any:
    """The value of JSON text (``None`` for a missing value)."""
    return None if text is None else json.loads(text)
