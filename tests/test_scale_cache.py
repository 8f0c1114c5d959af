"""The kept scored study (``analysis.scored_cache``, issue 15) gives exactly the frame and the
command results of preparing the file again: round trip on the bundled sample, the commands
with and without the cache (and reading back only their columns), a changed file never
meeting a stale entry, damaged entries and unwritable folders."""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import pipeline
from analysis import scored_cache as sc
from analysis.cli import main
from analysis.pipeline import prepare

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
CASES = [("public_servants.csv", "public_servant"), ("citizens.csv", "citizen"),
         ("public_servants.sav", "public_servant"), ("citizens.xlsx", "citizen")]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(sc.CACHE_ENV, str(folder))
    monkeypatch.setenv(sc.MIN_MB_ENV, "0")
    return folder


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a.columns) == list(b.columns)
    assert type(a.index) is type(b.index)
    for col in a.columns:  # missing text cells are NaN on both sides, not None
        if a[col].dtype == object:
            assert [type(v) for v in a[col]] == [type(v) for v in b[col]], col


@pytest.mark.parametrize("name,instrument", CASES)
def test_round_trip_is_the_prepared_frame(tmp_path, name, instrument):
    data = prepare(SAMPLE / name, instrument).data
    assert sc.write_entry(tmp_path / "entry", data)
    _same(sc.read_entry(tmp_path / "entry"), data)


@pytest.mark.parametrize("name,instrument", CASES)
def test_preparing_in_place_gives_the_prepared_frame(name, instrument):
    _same(pipeline.prepare_data(SAMPLE / name, instrument), prepare(SAMPLE / name, instrument).data)


def test_dropped_respondents_keep_their_row_numbers(tmp_path):
    prepared = prepare(SAMPLE / "public_servants.csv", "public_servant",
                       actions={"TOO_FEW_ANSWERED": "drop_respondents", "STRAIGHT_LINING": "drop_respondents"})
    data = prepared.data
    assert not isinstance(data.index, pd.RangeIndex) or len(data) < prepared.raw.shape[0]
    assert sc.write_entry(tmp_path / "entry", data)
    _same(sc.read_entry(tmp_path / "entry"), data)


def test_text_and_mixed_columns(tmp_path):
    frame = pd.DataFrame({"a": [1.5, np.nan, 3.0], "t": pd.Series(["x", np.nan, "z"], dtype=object),
                          "i": np.array([1, 2, 3], dtype="int64"), "b": [True, False, True]})
    assert sc.write_entry(tmp_path / "ok", frame)
    _same(sc.read_entry(tmp_path / "ok"), frame)
    part = sc.read_entry(tmp_path / "ok", sc.Wanted(["t"], optional=["b", "nope"]))
    _same(part, frame[["t", "b"]])
    # a required column the entry lacks: every column (the caller reports the name)
    _same(sc.read_entry(tmp_path / "ok", sc.Wanted(["nope"])), frame)
    _same(sc.read_entry(tmp_path / "ok", sc.Wanted(None, exclude=["a", "i"])), frame[["t", "b"]])
    mixed = frame.assign(t=pd.Series(["x", 2, "z"], dtype=object))  # a 'keep'-ed non-numeric item
    assert not sc.write_entry(tmp_path / "mixed", mixed)
    none = frame.assign(t=pd.Series(["x", None, "z"], dtype=object))  # None would come back as NaN
    assert not sc.write_entry(tmp_path / "none", none)
    assert not (tmp_path / "mixed").exists() and not (tmp_path / "none").exists()


def _run(argv) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return json.loads(out.getvalue())


SERVANTS = str(SAMPLE / "public_servants.csv")
COMMANDS = {
    "reliability": ["reliability", SERVANTS, "--items", "ps_rdy_fin1", "ps_rdy_fin2", "ps_rdy_fin3",
                    "--scale-min", "1", "--scale-max", "5"],
    "reliability_scale": ["reliability", SERVANTS, "--scale", "digital_skills"],
    "aggregate": ["aggregate", SERVANTS, "--group", "org_id", "--items", "ps_rdy_train1", "ps_rdy_train2",
                  "ps_rdy_train3", "--options", "5"],
    "factor": ["factor", SERVANTS, "--items", "ps_dsk1", "ps_dsk2", "ps_dsk3", "ps_dsk4", "--reverse", "ps_dsk4",
               "--scale-min", "1", "--scale-max", "5", "--n-iter", "5", "--seed", "1"],
    "mixed": ["mixed", SERVANTS, "--formula", "dc_engagement ~ c_digital_skills + gender + (1 | org_id)"],
    "readiness": ["readiness", SERVANTS, "--group", "org_id"],
    "citizens_mixed": ["mixed", str(SAMPLE / "citizens.csv"), "--formula",
                       "willingness_digital ~ any_digital + age10 + (1 | municipality_id)"],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_commands_give_the_same_numbers_from_the_cache(cache, monkeypatch, name):
    instrument = "citizen" if name.startswith("citizens") else "public_servant"
    argv = COMMANDS[name] + ["--instrument", instrument, "--json"]
    with monkeypatch.context() as m:  # the whole pipeline, as before the cache
        m.setenv(sc.CACHE_ENV, "off")
        m.setattr(pipeline, "prepare_columns", lambda *a, **k: None)
        fresh = _run(argv)
    with monkeypatch.context() as m:  # no cache: only the columns the command names are read
        m.setenv(sc.CACHE_ENV, "off")
        assert _run(argv) == fresh
    first = _run(argv)  # commands needing every column prepare and keep the study
    assert first == fresh
    sc.prepared_data(argv[1], instrument)  # kept (as by such a command)
    assert len(list(cache.iterdir())) == 1
    calls = []
    real = sc.read_entry
    monkeypatch.setattr(sc, "read_entry", lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    again = _run(argv)  # reads the kept study back (its columns only, where the command says them)
    assert calls and calls[0] is not None
    assert again == fresh
    if name in ("reliability", "reliability_scale", "factor", "aggregate", "mixed"):
        assert calls[0].shape[1] < 60


@pytest.mark.parametrize("required,optional", [
    (["ps_rdy_fin1", "ps_rdy_fin2"], []),
    (["digital_skills", "ps_dsk4", "org_id"], ["gender", "age", "age_band", "nope"]),
    (["rdy_finance", "dc_engagement"], []),
])
def test_reading_some_columns_gives_those_columns_of_the_whole(required, optional):
    whole = prepare(SERVANTS, "public_servant").data
    part, whole_read = pipeline.prepare_columns(SERVANTS, "public_servant", required, optional)
    assert not whole_read
    asked = set(required) | set(optional)
    _same(part, whole[[c for c in whole.columns if c in asked]])
    part, whole_read = pipeline.prepare_columns(SERVANTS, "public_servant", ["no_such_column"])
    assert whole_read
    _same(part, whole)
    for name in ("public_servants.sav", "public_servants.xlsx"):  # other formats: read whole
        part, whole_read = pipeline.prepare_columns(SAMPLE / name, "public_servant", required)
        assert whole_read
        _same(part, prepare(SAMPLE / name, "public_servant").data)


def test_a_possibly_empty_row_makes_the_whole_file_read(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_bytes(b"id,ps_dsk1,ps_dsk2,age\n1,3,4,30\n2,,,41\n3,5,2,50\n,,,\n4,1,1,\n")
    whole = prepare(path, "public_servant").data
    assert len(whole) == 4  # the empty line is dropped
    part, whole_read = pipeline.prepare_columns(path, "public_servant", ["ps_dsk1", "ps_dsk2"])
    assert whole_read
    _same(part, whole)
    # the id column is always read, so row 2 (no answers, an id) is not mistaken for an empty row
    path.write_bytes(b"id,ps_dsk1,ps_dsk2,age\n1,3,4,30\n2,,,41\n3,5,2,50\n")
    part, whole_read = pipeline.prepare_columns(path, "public_servant", ["ps_dsk1", "ps_dsk2"])
    assert not whole_read
    _same(part, prepare(path, "public_servant").data[["ps_dsk1", "ps_dsk2"]])


def test_a_changed_file_never_meets_a_stale_entry(cache, tmp_path):
    path = tmp_path / "servants.csv"
    shutil.copy(SAMPLE / "public_servants.csv", path)
    before, _, hit = sc.prepared_data(path, "public_servant")
    assert not hit
    stat = path.stat()
    text = path.read_text().splitlines()
    header = text[0].split(",")
    j = header.index("ps_rdy_fin1")
    row = text[1].split(",")
    row[j] = "1" if row[j] != "1" else "2"
    text[1] = ",".join(row)
    path.write_text("\n".join(text) + "\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same name, same time
    after, _, hit = sc.prepared_data(path, "public_servant")
    assert not hit
    _same(after, prepare(path, "public_servant").data)
    assert after["ps_rdy_fin1"].iloc[0] != before["ps_rdy_fin1"].iloc[0]
    again, _, hit = sc.prepared_data(path, "public_servant")
    assert hit
    _same(again, after)
    # another instrument definition or min_share is another entry
    assert not sc.prepared_data(path, "public_servant", min_share=0.75)[2]


def test_damaged_entries_unwritable_folders_and_off(cache, tmp_path, monkeypatch):
    fresh = prepare(SERVANTS, "public_servant").data
    data, _, hit = sc.prepared_data(SERVANTS, "public_servant")
    (entry,) = list(cache.iterdir())
    (entry / "data.parquet").write_bytes(b"PAR1 cut off")
    data, _, hit = sc.prepared_data(SERVANTS, "public_servant")
    assert not hit
    _same(data, fresh)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv(sc.CACHE_ENV, str(blocker / "cache"))  # cannot be made
    data, _, hit = sc.prepared_data(SERVANTS, "public_servant")
    _same(data, fresh)
    monkeypatch.setenv(sc.CACHE_ENV, "off")
    assert sc.cache_dir() is None
    data, _, hit = sc.prepared_data(SERVANTS, "public_servant")
    assert not hit
    _same(data, fresh)


def test_small_files_are_not_kept_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv(sc.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(sc.MIN_MB_ENV, raising=False)
    sc.prepared_data(SERVANTS, "public_servant")
    assert not (tmp_path / "cache").exists()


def test_the_cache_is_pruned_oldest_first(cache, monkeypatch):
    sc.prepared_data(SERVANTS, "public_servant")
    sc.prepared_data(SERVANTS, "public_servant", min_share=0.75)
    assert len(list(cache.iterdir())) == 2
    monkeypatch.setenv(sc.MAX_MB_ENV, "0.000001")
    sc.prepared_data(SERVANTS, "public_servant", min_share=0.9)
    assert len([p for p in cache.iterdir() if not p.name.startswith(".")]) == 1


@pytest.mark.parametrize("name,instrument", CASES[:2])
def test_compact_answers_give_the_same_report(monkeypatch, name, instrument):
    from analysis import validate as v
    from analysis.instruments import load_instrument
    from analysis.io import read_data

    data = read_data(SAMPLE / name).data
    inst = load_instrument(instrument)
    compact = v.validate(data, inst)
    real = v._compact
    monkeypatch.setattr(v, "_compact", lambda valid: None)  # every item re-checked, as before
    assert [p.to_dict() | {"rows": p.rows} for p in compact.problems] == \
        [p.to_dict() | {"rows": p.rows} for p in v.validate(data, inst).problems]
    halves = np.array([1.0, 2.5, np.nan, 3.0])
    assert real(halves) is None
    whole = np.array([1.0, -2.0, np.nan, 127.0])
    np.testing.assert_array_equal(v._expand(real(whole)), whole)
