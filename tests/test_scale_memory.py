"""Bounded memory (issue 14 item 5): archives refused before they are unpacked, a bounded
cache with expiry, and a command-line size cap that names the limit and the way out."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from analysis import io_files
from analysis.errors import InputError
from analysis.io import read_data

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def _zip_bomb(unpacked_mb: int = 40) -> bytes:
    """A small 'workbook' whose one sheet unpacks to ``unpacked_mb`` MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"0" * (1024 * 1024)
            for _ in range(unpacked_mb):
                member.write(chunk)
    return buffer.getvalue()


def test_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = _zip_bomb()
    assert len(bomb) < 200_000  # ~40 MB compressed into some 40 KB
    tracemalloc.start()
    with pytest.raises(InputError, match="zip bomb") as exc:
        read_data(bomb, filename="survey.xlsx")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # the 40 MB sheet was never unpacked
    assert exc.value.file == "survey.xlsx"


def test_archive_over_the_unpacked_limit_is_refused(monkeypatch):
    monkeypatch.setattr(io_files, "MAX_UNPACKED_BYTES", 1024 * 1024)
    with pytest.raises(InputError, match=r"would unpack to 4\.\d MB, over the limit of 1\.0 MB") as exc:
        read_data(SAMPLE / "public_servants.xlsx")
    assert "Parquet" in exc.value.hint


def test_real_workbooks_still_open():
    res = read_data(SAMPLE / "public_servants.xlsx")
    assert res.data.shape[0] == 1500


def test_prepared_data_cache_is_bounded_and_expires():
    import ui.state as state

    info = state._prepare._info
    assert info.max_entries is not None and info.max_entries <= 8
    assert info.ttl is not None and float(getattr(info.ttl, "total_seconds", lambda: info.ttl)()) <= 6 * 3600


def _command(*args, env=None):
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def test_command_line_caps_large_files_with_the_way_out():
    proc = _command("reliability", str(SAMPLE / "public_servants.csv"), "--items", "ps_dsk1", "ps_dsk2",
                    "--instrument", "public_servant", "--json", env={"COPROD_MAX_FILE_MB": "0.1"})
    assert proc.returncode == 2 and proc.stdout == ""
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert "over the command line's limit of 102.4 KB" in line
    assert "Parquet" in line and "smaller extract" in line and "COPROD_MAX_FILE_MB" in line
    proc = _command("readiness", str(SAMPLE / "public_servants.csv"), "--json", env={"COPROD_MAX_FILE_MB": "0.1"})
    assert proc.returncode == 2 and "limit" in proc.stderr


def test_parquet_export_is_the_way_out_and_reads_back(tmp_path):
    out = tmp_path / "servants.parquet"
    proc = _command("validate", str(SAMPLE / "public_servants.csv"), "--instrument", "public_servant",
                    "--export", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size < (SAMPLE / "public_servants.csv").stat().st_size
    from analysis.pipeline import prepare

    again = prepare(out, "public_servant").data
    direct = prepare(SAMPLE / "public_servants.csv", "public_servant").data
    import pandas as pd

    pd.testing.assert_frame_equal(again, direct.reset_index(drop=True))
    small = _command("aggregate", str(out), "--instrument", "public_servant", "--group", "org_id", "--items",
                     "ps_rdy_train1", "ps_rdy_train2", "--options", "5", "--json")
    big = _command("aggregate", str(SAMPLE / "public_servants.csv"), "--instrument", "public_servant", "--group",
                   "org_id", "--items", "ps_rdy_train1", "ps_rdy_train2", "--options", "5", "--json")
    assert small.returncode == 0 and small.stdout == big.stdout


def test_damaged_parquet_names_the_file():
    with pytest.raises(InputError, match="Parquet file is damaged") as exc:
        read_data(b"PAR1" + b"\x00" * 100, filename="x.parquet")
    assert exc.value.file == "x.parquet"
