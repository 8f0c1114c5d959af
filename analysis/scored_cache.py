"""The scored study kept between commands: a cache of prepared frames as Parquet (issue 15).

Reading, validating and scoring a national survey's CSV (600,000 respondents, 94 items)
takes several seconds every time; the frame that comes out depends only on the file's
bytes, the instrument's definition, the reading options and the code that prepared it. So
``prepared_data`` keeps that frame (``PreparedData.data``) as a Parquet file keyed on all
four, and a second command on the same file reads back only the columns it needs (a few
hundredths of a second for a scale's items, instead of the whole pipeline).

* **Key**: SHA-256 of the data file's content (never its name or date: a changed file can
  never meet a stale entry), the instrument as parsed (every construct, item, scale,
  reverse flag and missing code), the sheet and ``min_share``, and a hash of the source of
  the modules that read, check and score (``CODE_FILES``) and of the pandas, numpy and
  pyarrow versions: changing any of them retires every entry.
* **Where**: ``ANALYSIS_CACHE_DIR`` (``off`` turns the cache off), else
  ``$XDG_CACHE_HOME/coprod-analysis/scored`` or ``~/.cache/coprod-analysis/scored``. A
  folder that cannot be written is simply not used: commands work read-only, just without
  the speed-up. Files under ``ANALYSIS_CACHE_MIN_MB`` (default 8 MB) are not cached (they
  prepare in well under a second); entries beyond ``ANALYSIS_CACHE_MAX_MB`` (default 2048)
  are removed oldest-used first.
* **Exactness**: numbers are written as they are (float64 with NaN as NaN, int64, bool,
  datetime64; text as text with NaN as missing) and read back to the same dtypes, index and
  column order; a frame holding anything else (mixed text and numbers in one column,
  categoricals) is not cached. ``tests/test_scale_cache.py`` checks the round trip on the
  bundled sample.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import pandas as pd

CACHE_ENV = "ANALYSIS_CACHE_DIR"
MIN_MB_ENV = "ANALYSIS_CACHE_MIN_MB"
MAX_MB_ENV = "ANALYSIS_CACHE_MAX_MB"
DEFAULT_MIN_MB = 8.0
DEFAULT_MAX_MB = 2048.0
FORMAT = 1  # bump when the entry layout changes
READ_BATCH = 16  # columns read back at a time
# the modules whose code decides the prepared frame: a change in any of them is a new key
CODE_FILES = ("io.py", "io_csv.py", "io_files.py", "io_tidy.py", "validate.py", "scoring.py", "mapping.py",
              "instruments.py", "pipeline.py", "errors.py", "scored_cache.py")
_ROW = "__row__"  # the stored row index, when it is not 0..n-1 (respondents were dropped)


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off (``ANALYSIS_CACHE_DIR=off``)."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        if value.strip().lower() in ("", "off", "0", "none", "no", "false"):
            return None
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coprod-analysis" / "scored"


def _env_mb(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


_CODE_VERSION: str | None = None


def code_version() -> str:
    """A hash of the source of the modules that read, check and score a file."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        here = Path(__file__).resolve().parent
        import pyarrow

        digest = hashlib.sha256(f"format {FORMAT} pandas {pd.__version__} numpy {np.__version__} "
                                f"pyarrow {pyarrow.__version__}".encode())
        for name in CODE_FILES:
            try:
                digest.update(name.encode() + b"\0" + (here / name).read_bytes())
            except OSError:
                digest.update(name.encode() + b"\0missing")
        _CODE_VERSION = digest.hexdigest()
    return _CODE_VERSION


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's content (0.1 s for a 130 MB CSV)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def entry_key(path: str | Path, instrument, **options: Any) -> str:
    """The cache key of ``path`` prepared with ``instrument`` and ``options`` (sheet, min_share...)."""
    digest = hashlib.sha256()
    digest.update(file_digest(path).encode())
    # the instrument as parsed (its dataclass repr lists every field), without where it was read from
    definition = repr(getattr(instrument, "__dict__", instrument))
    digest.update(b"\0" + definition.replace(repr(getattr(instrument, "path", None)), "").encode())
    digest.update(b"\0" + json.dumps(options, sort_keys=True, default=str).encode())
    digest.update(b"\0" + code_version().encode())
    return digest.hexdigest()[:40]


# --------------------------------------------------------------------------- writing

def _column_kind(values: pd.Series) -> str | None:
    """How a column is stored, or None when it cannot be stored exactly."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind in "if" and dtype.itemsize == 8:
            return dtype.str
        if dtype.kind == "b":
            return "bool"
        if dtype.kind == "M" and dtype == np.dtype("datetime64[ns]"):
            return "datetime64[ns]"
        if dtype.kind == "O" and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            cells = values.to_numpy()
            missing = cells[values.isna().to_numpy()]
            # missing text cells are read back as NaN: store only when they are NaN already
            if all(isinstance(v, float) and v != v for v in missing):
                return "text"
    return None


def _arrow(values: np.ndarray, kind: str):
    import pyarrow as pa

    if kind == "text":
        return pa.array(values, type=pa.string(), from_pandas=True)
    return pa.array(values)  # numbers as they are: NaN stays a NaN value, not a null


def write_entry(folder: Path, data: pd.DataFrame) -> bool:
    """Write ``data`` as a cache entry in ``folder`` (atomically); False when it cannot be
    stored exactly or the folder cannot be written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(data.columns)
    if not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns) or _ROW in columns:
        return False
    kinds = {}
    for col in columns:
        kind = _column_kind(data[col])
        if kind is None:
            return False
        kinds[col] = kind
    index = data.index
    ranged = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    if not ranged and not (index.dtype == np.dtype("int64") and index.name is None):
        return False
    arrays = {c: data[c].to_numpy() for c in columns}
    if not ranged:
        arrays[_ROW], kinds[_ROW] = index.to_numpy(), "<i8"
    names = list(arrays)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        # one row group: each column is read back as one piece (no concatenation copy);
        # numbers go to Arrow without a copy, dictionary-encoded (a 1..5 item: about 2 bits a cell)
        table = pa.Table.from_arrays([_arrow(arrays[c], kinds[c]) for c in names], names=names)
        pq.write_table(table, tmp / "data.parquet", row_group_size=max(len(data), 1), compression="none",
                       use_dictionary=True)
        del table
        info = {"format": FORMAT, "n_rows": int(len(data)), "columns": columns, "kinds": kinds,
                "index": "range" if ranged else _ROW, "index_name": index.name, "written": time.time()}
        (tmp / "info.json").write_text(json.dumps(info))
        try:
            tmp.rename(folder)
        except OSError:  # another process wrote the same entry first: theirs is as good
            shutil.rmtree(tmp, ignore_errors=True)
        return True
    except Exception:  # noqa: BLE001 - a cache that cannot be written is not used, never an error
        shutil.rmtree(tmp, ignore_errors=True)
        return False


def _prune(root: Path, keep: Path) -> None:
    """Remove the least recently used entries beyond ``ANALYSIS_CACHE_MAX_MB``."""
    limit = _env_mb(MAX_MB_ENV, DEFAULT_MAX_MB) * 1024 * 1024
    entries = []
    for entry in root.iterdir():
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        try:
            size = sum(f.stat().st_size for f in entry.iterdir())
            entries.append(((entry / "info.json").stat().st_mtime, size, entry))
        except OSError:
            continue
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        if entry != keep:
            shutil.rmtree(entry, ignore_errors=True)
            total -= size


# --------------------------------------------------------------------------- reading

class Wanted(NamedTuple):
    """The columns a caller reads: ``required`` ones (if the entry lacks one, every column is
    read, so the caller reports the unknown name as it would without the cache), ``optional``
    ones (read when present) or, with ``required`` None, every column but ``exclude``."""

    required: list[str] | None
    optional: list[str] = []
    exclude: list[str] = []


def selected(columns: list[str], wanted: Wanted | None) -> list[str]:
    """The ``wanted`` ones of ``columns``, in their order (see ``Wanted``)."""
    required = None if wanted is None else wanted.required
    if wanted is not None and required is None:
        dropped = set(wanted.exclude)
        return [c for c in columns if c not in dropped]
    if wanted is not None and required is not None and set(required) <= set(columns):
        asked = set(required) | set(wanted.optional)
        return [c for c in columns if c in asked]
    return list(columns)


def read_entry(folder: Path, wanted: Wanted | None = None) -> pd.DataFrame | None:
    """The frame of an entry (the ``wanted`` columns, in the frame's order), or None when there
    is no complete entry."""
    import pyarrow.parquet as pq

    try:
        info = json.loads((folder / "info.json").read_text())
        if info.get("format") != FORMAT:
            return None
        stored = info["columns"]
        read = selected(stored, wanted)
        columns = list(read)
        read += [_ROW] if info["index"] == _ROW else []
        handle = pq.ParquetFile(folder / "data.parquet")
        if handle.metadata.num_rows != info["n_rows"]:
            return None
        out = {}
        for start in range(0, len(read), READ_BATCH):  # a few columns at a time: Arrow's copy stays small
            table = handle.read(columns=read[start:start + READ_BATCH], use_threads=False)
            for col in table.column_names:
                chunked = table.column(col)
                kind = info["kinds"][col]
                if kind == "text":
                    values = chunked.to_numpy(zero_copy_only=False).astype(object, copy=False)
                    values[chunked.is_null().to_numpy(zero_copy_only=False)] = np.nan
                else:
                    values = np.array(chunked.to_numpy(zero_copy_only=False),
                                      dtype=np.dtype(kind) if kind != "bool" else bool, copy=True)
                out[col] = values  # numpy's own, writable memory, as the pipeline's frame has
            del table
        if info["index"] == _ROW:
            index = pd.Index(out.pop(_ROW), name=info.get("index_name"))
        else:
            index = pd.RangeIndex(info["n_rows"], name=info.get("index_name"))
        # text as object columns (a plain frame constructor would make them pandas' str dtype)
        frame = pd.DataFrame({c: pd.Series(out[c], index=index, dtype=object, copy=False)
                              if out[c].dtype.kind == "O" else out[c] for c in columns}, index=index, copy=False)
        os.utime(folder / "info.json")  # used: kept longest when the cache is pruned
        return frame
    except Exception:  # noqa: BLE001 - a damaged or partial entry is a miss
        return None


# --------------------------------------------------------------------------- the entry point

def prepared_data(path: str | Path, instrument, *, sheet: str | int | None = None, min_share: float = 0.5,
                  columns: Callable[[Any], Wanted | None] | Wanted | None = None,
                  max_bytes: int | None = None) -> tuple[pd.DataFrame, Any, bool]:
    """``(data, instrument, hit)``: ``pipeline.prepare(path, instrument, ...).data``, from the
    cache when the same file was prepared the same way before (``hit``), else prepared and
    kept. ``columns`` (a ``Wanted``, or a function of the loaded instrument giving one)
    limits what is read back from the cache to the columns the caller uses; with a
    ``required`` list, a file not kept yet is read, checked and scored for those columns only
    (``pipeline.prepare_columns``) and not kept. The columns are those of the frame
    ``prepare`` returns. Files under ``ANALYSIS_CACHE_MIN_MB`` go through ``prepare``."""
    from analysis.instruments import load_instrument
    from analysis.pipeline import prepare_data

    if isinstance(instrument, str):
        instrument = load_instrument(instrument)
    root = cache_dir()
    source = Path(str(path))
    large = source.is_file() and source.stat().st_size >= _env_mb(MIN_MB_ENV, DEFAULT_MIN_MB) * 1024 * 1024
    if not large:
        return prepare_data(path, instrument, sheet=sheet, min_share=min_share, max_bytes=max_bytes), instrument, False
    wanted = columns(instrument) if callable(columns) else columns
    folder = None
    if root is not None:
        folder = root / entry_key(source, instrument, sheet=sheet, min_share=float(min_share))
        if folder.is_dir():
            frame = read_entry(folder, wanted)
            if frame is not None:
                return frame, instrument, True
    if wanted is not None and wanted.required is not None:
        # a command that names its columns: read, check and score only those (a few columns of
        # a CSV), not the whole study; the whole study is kept by the next command needing it
        from analysis.pipeline import prepare_columns

        part = prepare_columns(path, instrument, wanted.required, wanted.optional, sheet=sheet,
                               min_share=min_share, max_bytes=max_bytes)
        if part is not None and not part[1]:
            return part[0], instrument, False
        data = part[0] if part is not None else None
    else:
        data = None
    if data is None:
        data = prepare_data(path, instrument, sheet=sheet, min_share=min_share, max_bytes=max_bytes)
    if root is not None and folder is not None:
        try:
            root.mkdir(parents=True, exist_ok=True)
            if not folder.is_dir() and write_entry(folder, data):
                _prune(root, folder)
        except OSError:
            pass  # a read-only home or cache folder: no cache, same data
    keep = selected(list(data.columns), wanted)
    if len(keep) < data.shape[1]:  # the columns not used are let go (the items, for a model)
        data = data[keep]
    return data, instrument, False
