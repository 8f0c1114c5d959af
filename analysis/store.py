"""The SQLite store for what users save: studies, fitted models and page views.

One file (``COPROD_DB``, default ``data_store/dashboard.sqlite3`` under the project) holds

* ``studies``: a named, versioned snapshot of a study (privacy threshold, settings) with one
  ``study_datasets`` row per survey: the instrument id, the original file (bytes + name,
  stored once per content in ``files``), the column mapping and the validation actions;
* ``models``: a saved mixed model (formula, options, result) belonging to a study;
* ``views``: a page and its query parameters, so a screen can be reopened as it was.

Design choices, so the next person need not rediscover them:

* stdlib ``sqlite3`` only; WAL journal so a reader never blocks the writer and two browser
  sessions can save at the same time; every operation opens its own short connection
  (Streamlit runs sessions in threads, and a shared connection would need locking);
* every write is one ``BEGIN IMMEDIATE ... COMMIT`` transaction: a failure rolls back the
  whole save, never half of it;
* saving never destroys an earlier save: saving a study under an existing name adds a new
  version; only ``overwrite=True`` replaces the latest version of that name in place;
* the schema is versioned (``schema_version`` table) and upgraded by the ordered
  ``MIGRATIONS`` below; a file written by a newer dashboard is refused, not damaged;
* a file that is not a readable database gives an ``InputError`` saying what to do.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from analysis.errors import InputError
from analysis.results import to_jsonable

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATH = ROOT / "data_store" / "dashboard.sqlite3"

# Each migration is a list of statements; migration i brings the schema to version i + 1.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE files (
               sha256 TEXT PRIMARY KEY,
               size INTEGER NOT NULL,
               content BLOB NOT NULL)""",
        """CREATE TABLE studies (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               name TEXT NOT NULL,
               version INTEGER NOT NULL,
               min_n INTEGER NOT NULL,
               settings_json TEXT NOT NULL DEFAULT '{}',
               created_at TEXT NOT NULL,
               updated_at TEXT NOT NULL,
               UNIQUE (name, version))""",
        """CREATE TABLE study_datasets (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
               instrument_id TEXT NOT NULL,
               filename TEXT NOT NULL,
               file_sha256 TEXT NOT NULL REFERENCES files(sha256),
               sheet TEXT,
               mapping_json TEXT NOT NULL,
               actions_json TEXT NOT NULL,
               options_json TEXT NOT NULL DEFAULT '{}',
               UNIQUE (study_id, instrument_id))""",
        """CREATE TABLE models (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
               name TEXT,
               formula TEXT NOT NULL,
               options_json TEXT NOT NULL,
               result_json TEXT NOT NULL,
               created_at TEXT NOT NULL)""",
        """CREATE TABLE views (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               study_id INTEGER REFERENCES studies(id) ON DELETE SET NULL,
               page TEXT NOT NULL,
               name TEXT,
               query_json TEXT NOT NULL,
               created_at TEXT NOT NULL)""",
        "CREATE INDEX models_by_study ON models(study_id)",
        "CREATE INDEX views_by_page ON views(page)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


def default_path() -> Path:
    """``$COPROD_DB`` if set, else ``data_store/dashboard.sqlite3`` in the project."""
    env = os.environ.get("COPROD_DB")
    return Path(env) if env else DEFAULT_PATH


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), sort_keys=True, allow_nan=False)


@dataclass
class SavedDataset:
    """One survey's file and choices inside a saved study."""
    instrument_id: str
    filename: str
    content: bytes
    mapping: dict[str, str] = field(default_factory=dict)
    actions: dict[str, Any] = field(default_factory=dict)
    sheet: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"instrument_id": self.instrument_id, "filename": self.filename,
                "size": len(self.content), "mapping": self.mapping, "actions": self.actions,
                "sheet": self.sheet, "options": self.options}


@dataclass
class SavedStudy:
    id: int
    name: str
    version: int
    min_n: int
    settings: dict
    created_at: str
    updated_at: str
    datasets: list[SavedDataset] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "version": self.version, "min_n": self.min_n,
                "settings": self.settings, "created_at": self.created_at,
                "updated_at": self.updated_at, "datasets": [d.to_dict() for d in self.datasets]}


class Store:
    """A SQLite file of saved studies, models and views (see the module docstring)."""

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 10.0):
        self.path = Path(path) if path is not None else default_path()
        self.timeout = timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the folder for the saved studies: {exc.strerror}",
                             file=str(self.path), hint="set COPROD_DB to a writable file path") from exc
        with self._connect() as conn:
            self._migrate(conn)

    # -- connections and transactions -------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._unreadable(exc) from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # e.g. a read-only medium: still usable, say so
                conn.execute("PRAGMA journal_mode = DELETE")
            yield conn
        except sqlite3.IntegrityError:
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise InputError("the saved-studies database is busy with another save",
                                 file=str(self.path), hint="wait a moment and try again") from exc
            raise self._unreadable(exc) from exc
        except sqlite3.DatabaseError as exc:
            raise self._unreadable(exc) from exc
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all statements are kept, or none."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _unreadable(self, exc: Exception) -> InputError:
        return InputError(
            f"the saved-studies database cannot be read ({exc})", file=str(self.path),
            hint="the file is damaged or is not a dashboard database: move it aside (your saves "
                 "stay in it for recovery) or set COPROD_DB to a new file, then restart the dashboard")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > SCHEMA_VERSION:
                raise InputError(
                    f"the saved-studies database has schema version {current}, newer than this "
                    f"dashboard understands ({SCHEMA_VERSION})", file=str(self.path),
                    hint="update the dashboard, or set COPROD_DB to another file")
            for version in range(current, SCHEMA_VERSION):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def schema_version(self) -> int:
        with self._connect() as conn:
            return conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]

    # -- studies ------------------------------------------------------------------------
    def save_study(self, name: str, datasets: list[SavedDataset], *, min_n: int = 5,
                   settings: dict | None = None, overwrite: bool = False) -> int:
        """Save a study and return its id.

        A name already saved gets a new version (the earlier ones stay). With
        ``overwrite=True`` the latest version of that name is replaced in place (same id);
        its saved models stay attached.
        """
        name = (name or "").strip()
        if not name:
            raise InputError("a saved study needs a name", hint="type a name, e.g. 'City survey 2025'")
        if not datasets:
            raise InputError("there is no data to save", hint="load a survey file first")
        if int(min_n) < 1:
            raise InputError("the privacy threshold min_n must be at least 1")
        settings_json = _dumps(settings or {})
        rows = [(d, _dumps(d.mapping), _dumps(d.actions), _dumps(d.options)) for d in datasets]
        now = _now()
        with self._write() as conn:
            latest = conn.execute("SELECT id, version FROM studies WHERE name = ? "
                                  "ORDER BY version DESC LIMIT 1", (name,)).fetchone()
            if overwrite and latest is not None:
                study_id = latest["id"]
                conn.execute("UPDATE studies SET min_n = ?, settings_json = ?, updated_at = ? "
                             "WHERE id = ?", (int(min_n), settings_json, now, study_id))
                conn.execute("DELETE FROM study_datasets WHERE study_id = ?", (study_id,))
            else:
                version = 1 if latest is None else latest["version"] + 1
                study_id = conn.execute(
                    "INSERT INTO studies (name, version, min_n, settings_json, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (name, version, int(min_n), settings_json, now, now)).lastrowid
            for d, mapping_json, actions_json, options_json in rows:
                digest = self._put_file(conn, d.content)
                conn.execute(
                    "INSERT INTO study_datasets (study_id, instrument_id, filename, file_sha256, sheet, "
                    "mapping_json, actions_json, options_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (study_id, d.instrument_id, d.filename, digest, d.sheet, mapping_json,
                     actions_json, options_json))
            conn.execute("DELETE FROM files WHERE sha256 NOT IN "
                         "(SELECT file_sha256 FROM study_datasets)")
        return int(study_id)

    @staticmethod
    def _put_file(conn: sqlite3.Connection, content: bytes) -> str:
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise InputError("a saved data file must be bytes")
        content = bytes(content)
        digest = hashlib.sha256(content).hexdigest()
        conn.execute("INSERT OR IGNORE INTO files (sha256, size, content) VALUES (?, ?, ?)",
                     (digest, len(content), content))
        return digest

    def list_studies(self) -> list[dict]:
        """All saved study versions, newest first: id, name, version, min_n, surveys, dates."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT s.id, s.name, s.version, s.min_n, s.created_at, s.updated_at, "
                "GROUP_CONCAT(d.instrument_id, ', ') AS surveys, "
                "GROUP_CONCAT(d.filename, ', ') AS files "
                "FROM studies s LEFT JOIN study_datasets d ON d.study_id = s.id "
                "GROUP BY s.id ORDER BY s.updated_at DESC, s.id DESC").fetchall()
        return [dict(r) for r in rows]

    def load_study(self, study_id: int) -> SavedStudy:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM studies WHERE id = ?", (int(study_id),)).fetchone()
            if row is None:
                raise InputError(f"there is no saved study with id {study_id}",
                                 hint="pick one from the list of saved studies")
            data = conn.execute(
                "SELECT d.*, f.content FROM study_datasets d JOIN files f ON f.sha256 = d.file_sha256 "
                "WHERE d.study_id = ? ORDER BY d.id", (int(study_id),)).fetchall()
        datasets = [SavedDataset(instrument_id=d["instrument_id"], filename=d["filename"],
                                 content=bytes(d["content"]), mapping=json.loads(d["mapping_json"]),
                                 actions=json.loads(d["actions_json"]), sheet=d["sheet"],
                                 options=json.loads(d["options_json"])) for d in data]
        return SavedStudy(id=row["id"], name=row["name"], version=row["version"], min_n=row["min_n"],
                          settings=json.loads(row["settings_json"]), created_at=row["created_at"],
                          updated_at=row["updated_at"], datasets=datasets)

    def delete_study(self, study_id: int) -> bool:
        """Delete one saved version (and its models); True if it existed."""
        with self._write() as conn:
            gone = conn.execute("DELETE FROM studies WHERE id = ?", (int(study_id),)).rowcount
            conn.execute("DELETE FROM files WHERE sha256 NOT IN "
                         "(SELECT file_sha256 FROM study_datasets)")
        return bool(gone)

    # -- models ---------------------------------------------------------------------------
    def save_model(self, study_id: int, formula: str, *, options: dict | None = None,
                   result: Any = None, name: str | None = None) -> int:
        """Save a fitted model (formula, options, result as JSON) under a saved study."""
        if not (formula or "").strip():
            raise InputError("a saved model needs a formula")
        options_json, result_json = _dumps(options or {}), _dumps(result)
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM studies WHERE id = ?", (int(study_id),)).fetchone() is None:
                raise InputError(f"there is no saved study with id {study_id}",
                                 hint="save the study first, then the model")
            model_id = conn.execute(
                "INSERT INTO models (study_id, name, formula, options_json, result_json, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (int(study_id), name, formula.strip(), options_json, result_json, _now())).lastrowid
        return int(model_id)

    def list_models(self, study_id: int) -> list[dict]:
        """The models saved under a study, oldest first, with options and result decoded."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM models WHERE study_id = ? ORDER BY id",
                                (int(study_id),)).fetchall()
        return [{"id": r["id"], "study_id": r["study_id"], "name": r["name"], "formula": r["formula"],
                 "options": json.loads(r["options_json"]), "result": json.loads(r["result_json"]),
                 "created_at": r["created_at"]} for r in rows]

    # -- views ----------------------------------------------------------------------------
    def save_view(self, page: str, query_params: dict | None = None, *, name: str | None = None,
                  study_id: int | None = None) -> int:
        """Save a page (its url path) with its query parameters."""
        if not (page or "").strip():
            raise InputError("a saved view needs the page it belongs to")
        query_json = _dumps(query_params or {})
        with self._write() as conn:
            view_id = conn.execute(
                "INSERT INTO views (study_id, page, name, query_json, created_at) VALUES (?, ?, ?, ?, ?)",
                (study_id, page.strip(), name, query_json, _now())).lastrowid
        return int(view_id)

    def list_views(self, page: str | None = None) -> list[dict]:
        with self._connect() as conn:
            if page is None:
                rows = conn.execute("SELECT * FROM views ORDER BY id DESC").fetchall()
            else:
                rows = conn.execute("SELECT * FROM views WHERE page = ? ORDER BY id DESC",
                                    (page,)).fetchall()
        return [{"id": r["id"], "study_id": r["study_id"], "page": r["page"], "name": r["name"],
                 "query": json.loads(r["query_json"]), "created_at": r["created_at"]} for r in rows]
