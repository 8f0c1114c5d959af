"""The SQLite store: round trips, versions, concurrency, damaged files, failed writes."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from analysis.errors import InputError
from analysis.store import SCHEMA_VERSION, SavedDataset, Store

CSV = b"respondent_id,ps_a1\n1,4\n2,5\n"


def _dataset(instrument="public_servant", content=CSV, **kw) -> SavedDataset:
    return SavedDataset(instrument_id=instrument, filename="survey.csv", content=content,
                        mapping=kw.pop("mapping", {"ps_a1": "ps_a1"}),
                        actions=kw.pop("actions", {"OUT_OF_RANGE": "set_missing"}), **kw)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "db" / "test.sqlite3")


def test_round_trip_keeps_bytes_mapping_actions(store):
    xlsx_like = bytes(range(256)) * 10  # any binary content survives unchanged
    sid = store.save_study("City 2025", [_dataset(), _dataset("citizen", xlsx_like, sheet="Data")],
                           min_n=7, settings={"invited": {"citizen": 400}})
    loaded = store.load_study(sid)
    assert (loaded.name, loaded.version, loaded.min_n) == ("City 2025", 1, 7)
    assert loaded.settings == {"invited": {"citizen": 400}}
    by_id = {d.instrument_id: d for d in loaded.datasets}
    assert by_id["public_servant"].content == CSV
    assert by_id["public_servant"].mapping == {"ps_a1": "ps_a1"}
    assert by_id["public_servant"].actions == {"OUT_OF_RANGE": "set_missing"}
    assert by_id["citizen"].content == xlsx_like and by_id["citizen"].sheet == "Data"
    listed = store.list_studies()
    assert [s["id"] for s in listed] == [sid]
    assert set(listed[0]["surveys"].split(", ")) == {"public_servant", "citizen"}


def test_wal_mode_and_schema_version(store):
    assert store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    Store(store.path)  # reopening an up-to-date file migrates nothing and keeps the data
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_same_name_adds_a_version_and_overwrite_is_explicit(store):
    first = store.save_study("Pilot", [_dataset()], min_n=5)
    second = store.save_study("Pilot", [_dataset(mapping={"ps_a1": "Q1"})], min_n=6)
    assert first != second
    assert store.load_study(first).datasets[0].mapping == {"ps_a1": "ps_a1"}  # earlier save intact
    assert store.load_study(second).version == 2
    third = store.save_study("Pilot", [_dataset(mapping={"ps_a1": "Q9"})], min_n=8, overwrite=True)
    assert third == second  # overwrite replaces the latest version in place
    assert store.load_study(second).datasets[0].mapping == {"ps_a1": "Q9"}
    assert store.load_study(first).datasets[0].mapping == {"ps_a1": "ps_a1"}
    assert len(store.list_studies()) == 2


def test_models_and_views(store):
    sid = store.save_study("S", [_dataset()])
    mid = store.save_model(sid, "attitude ~ skills + (1 | org_id)", options={"reml": True},
                           result={"icc": 0.12, "aic": float("nan")}, name="null model")
    models = store.list_models(sid)
    assert [m["id"] for m in models] == [mid]
    assert models[0]["result"] == {"icc": 0.12, "aic": None}  # NaN saved as JSON null
    with pytest.raises(InputError, match="no saved study"):
        store.save_model(9999, "y ~ x")
    vid = store.save_view("readiness", {"org": "12", "survey": "public_servant"}, name="Org 12")
    assert store.list_views("readiness")[0]["id"] == vid
    assert store.list_views("readiness")[0]["query"] == {"org": "12", "survey": "public_servant"}
    assert store.delete_study(sid) and store.list_models(sid) == []
    assert not store.delete_study(sid)


def test_bad_arguments_are_input_errors(store):
    with pytest.raises(InputError, match="name"):
        store.save_study("  ", [_dataset()])
    with pytest.raises(InputError, match="no data"):
        store.save_study("x", [])
    with pytest.raises(InputError, match="no saved study"):
        store.load_study(42)


def test_concurrent_connections_all_saves_kept(tmp_path):
    path = tmp_path / "shared.sqlite3"
    Store(path)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            store = Store(path)  # one Store per session, as two browser tabs would have
            for i in range(5):
                store.save_study(f"study {k}", [_dataset(content=CSV + f"{k},{i}\n".encode())])
                store.list_studies()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    studies = Store(path).list_studies()
    assert len(studies) == 20
    assert sorted(s["version"] for s in studies if s["name"] == "study 3") == [1, 2, 3, 4, 5]


def test_corrupted_file_gives_input_error_with_what_to_do(tmp_path):
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(InputError) as info:
        Store(path)
    message = str(info.value)
    assert "cannot be read" in message and "COPROD_DB" in message and str(path) in message
    assert path.read_bytes().startswith(b"this is not a database")  # left as it was


def test_newer_schema_is_refused_not_damaged(store):
    with sqlite3.connect(store.path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(InputError, match="newer than this dashboard"):
        Store(store.path)


def test_failed_write_loses_nothing_and_leaves_no_partial_save(store):
    sid = store.save_study("Kept", [_dataset()], min_n=5)
    before = store.list_studies()
    broken = _dataset("citizen")
    broken.content = None  # the second dataset fails after the study row was inserted
    with pytest.raises(InputError):
        store.save_study("Half", [_dataset(), broken])
    with pytest.raises(InputError):
        store.save_study("Kept", [_dataset(mapping={"ps_a1": "LOST"}), broken], overwrite=True)
    assert store.list_studies() == before
    assert store.load_study(sid).datasets[0].mapping == {"ps_a1": "ps_a1"}
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM study_datasets").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 1


def test_default_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_DB", str(tmp_path / "env.sqlite3"))
    assert Store().path == tmp_path / "env.sqlite3"
    assert (tmp_path / "env.sqlite3").exists()
