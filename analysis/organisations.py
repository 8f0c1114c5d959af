"""Names and types of the organisations (or other groups) a survey is grouped by.

Two sources, the first found wins per field:

* a **lookup file** (CSV, TSV or Excel) with one row per organisation and the columns
  ``id``, ``name`` and optionally ``type`` and ``parent`` (the id of the unit it belongs to: a
  department above its units; a parent may have no respondents of its own, and a parent's row
  gives its name); a study names it under a survey's ``lookup`` key
  (``lookup: {file: organisations.csv, column: org_id}``), a command takes ``--lookup FILE``;
* **columns of the data** named after the group column: for ``org_id`` the columns
  ``org_name``, ``org_type`` and ``org_parent`` (a categorical demographic of the instrument gives its level
  labels), each constant within an organisation.

An organisation without a name is shown as "Organisation <id>". ``lookup_problems`` lists
what is wrong with a lookup (unknown or duplicate ids, empty ids or names, a parent that is
not in the lookup, a cycle of parents) with the row (1-based, after the header) and id, for
``python -m analysis study check``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import InputError

LOOKUP_COLUMNS = ("id", "name", "type")


def _key(value) -> str:
    """An id as text, so 103, 103.0 and '103' match."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass
class Organisations:
    """``table``: one row per organisation with ``group`` (the id as in the data), ``name``,
    ``type`` and ``parent`` (missing when unknown). ``source``: where they came from.
    ``parent_names``: names of parents that have no respondents (from the lookup)."""
    group_column: str
    table: pd.DataFrame
    source: str = "ids only"
    parent_names: dict = field(default_factory=dict)

    def _row(self, group_id) -> dict | None:
        """The organisation's row as a dict, through an index by id made once (a national survey
        asks for 2,000 names: one look-up each, not a scan of the table)."""
        index = self.__dict__.get("_by_key")
        if index is None:
            index = {}
            for row in self.table.to_dict("records"):
                index.setdefault(_key(row["group"]), row)  # the first row of an id, as before
            self.__dict__["_by_key"] = index
        return index.get(_key(group_id))

    def name(self, group_id) -> str:
        row = self._row(group_id)
        if row is None or pd.isna(row["name"]):
            return f"Organisation {_key(group_id)}"
        return str(row["name"])

    def type_of(self, group_id):
        row = self._row(group_id)
        return None if row is None or pd.isna(row["type"]) else row["type"]

    @property
    def has_types(self) -> bool:
        return bool(self.table["type"].notna().any())

    @property
    def has_parents(self) -> bool:
        return bool(self.table["parent"].notna().any())

    def parents(self) -> dict:
        """group id -> the name of its parent (missing parents left out): the comparator sets of
        a parent benchmark (the organisations under the same parent)."""
        known = self.table.dropna(subset=["parent"])
        return {g: self.parent_names.get(_key(p)) or self.name(p) for g, p in zip(known["group"], known["parent"])}

    def types(self) -> dict:
        """group id -> type (missing types left out): the comparator sets of a type benchmark."""
        known = self.table.dropna(subset=["type"])
        return dict(zip(known["group"], known["type"]))

    def to_dict(self) -> dict:
        return {"group_column": self.group_column, "source": self.source,
                "organisations": [{"group": r.group, "name": self.name(r.group),
                                   "type": None if pd.isna(r.type) else r.type,
                                   "parent": None if pd.isna(r.parent) else r.parent}
                                  for r in self.table.itertuples()]}


def read_lookup(source, *, filename: str | None = None) -> pd.DataFrame:
    """The lookup file as a frame with (at least) ``id`` and ``name``; InputError otherwise."""
    from analysis.io import read_data

    frame = read_data(source, filename=filename).data
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    name = filename or Path(str(source)).name
    for col in ("id", "name"):
        if col not in frame.columns:
            raise InputError(f"the lookup file has no '{col}' column", file=name, column=col,
                             hint="give one row per organisation with the columns id, name and (optionally) type")
    for col in ("type", "parent"):
        if col not in frame.columns:
            frame[col] = pd.NA
    return frame


def lookup_problems(lookup: pd.DataFrame, ids, *, file: str = "lookup file") -> list[InputError]:
    """Every bad row of a lookup: an empty id or name, an id listed twice, an id neither in the
    data nor a parent, a parent not in the lookup, a cycle of parents.

    Parameters
    ----------
    lookup : the frame of ``read_lookup``.
    ids : the group ids present in the data.
    file : the lookup's file name, for the messages.
    """
    known = {_key(v) for v in ids if pd.notna(v)}
    parent_of = {}
    if "parent" in lookup.columns:
        parent_of = {_key(i): _key(p) for i, p in zip(lookup["id"], lookup["parent"]) if pd.notna(i) and pd.notna(p)}
    known |= set(parent_of.values()) & {_key(i) for i in lookup["id"] if pd.notna(i)}
    problems: list[InputError] = []
    seen: dict[str, int] = {}
    for i, (raw, name) in enumerate(zip(lookup["id"], lookup["name"]), start=1):
        if pd.isna(raw) or not _key(raw):
            problems.append(InputError("empty id", file=file, column="id", row=i, hint="give every row an id"))
            continue
        key = _key(raw)
        if key in seen:
            problems.append(InputError(f"id '{key}' is listed twice (rows {seen[key]} and {i})", file=file,
                                       column="id", row=i, hint="keep one row per organisation"))
        else:
            seen[key] = i
        if key not in known:
            problems.append(InputError(f"id '{key}' is not an organisation of the data", file=file, column="id",
                                       row=i, hint="correct the id, or remove the row"))
        if pd.isna(name) or not str(name).strip():
            problems.append(InputError(f"id '{key}' has no name", file=file, column="name", row=i,
                                       hint="give every organisation a name"))
    listed = {_key(v) for v in lookup["id"] if pd.notna(v)}
    reported: set[str] = set()
    for i, raw in enumerate(lookup["id"], start=1):
        key = _key(raw) if pd.notna(raw) else ""
        parent = parent_of.get(key)
        if parent is None:
            continue
        if parent not in listed:
            problems.append(InputError(f"the parent '{parent}' of id '{key}' is not in the lookup", file=file,
                                       column="parent", row=i, hint="add a row for the parent, or correct the id"))
            continue
        chain, node = [key], parent
        while node in parent_of and node not in chain:
            chain.append(node)
            node = parent_of[node]
        if node in chain and key not in reported:
            cycle = chain[chain.index(node):]
            reported |= set(cycle)
            problems.append(InputError("the parents form a cycle: " + " -> ".join([*cycle, node]), file=file,
                                       column="parent", row=i, hint="an organisation cannot sit under itself"))
    return problems


def _from_columns(data: pd.DataFrame, group: str, column: str, instrument=None) -> pd.Series | None:
    """``column``'s value per group when it is constant within every group (labels applied)."""
    if column not in data.columns:
        return None
    values = data.loc[data[group].notna(), [group, column]]
    if values.groupby(group)[column].nunique(dropna=True).max() > 1:
        return None
    out = values.dropna().drop_duplicates(group).set_index(group)[column]
    demo = next((d for d in (getattr(instrument, "demographics", []) or []) if d.id == column), None)
    levels = getattr(demo, "levels", None) or {}
    if levels:
        out = out.map(lambda v: levels.get(int(v), v) if isinstance(v, (int, float)) and float(v).is_integer()
                      else levels.get(v, v))
    return out


def organisations(data: pd.DataFrame, group: str, *, instrument=None, lookup: pd.DataFrame | None = None,
                  lookup_file: str = "lookup file") -> Organisations:
    """Names and types of the groups of ``data[group]`` (see the module docstring).

    A lookup with problems (``lookup_problems``) raises the first as ``InputError``.
    """
    ids = data[group].dropna().drop_duplicates()
    numeric = pd.api.types.is_numeric_dtype(data[group])
    ids = sorted(ids.tolist(), key=(float if numeric else str))
    empty = pd.Series([pd.NA] * len(ids), dtype=object)
    table = pd.DataFrame({"group": ids, "name": empty, "type": empty.copy(), "parent": empty.copy()})
    stem = group[:-3] if group.endswith("_id") else group
    sources = []
    for part in ("name", "type", "parent"):
        found = _from_columns(data, group, f"{stem}_{part}", instrument)
        if found is not None:
            table[part] = table["group"].map(found).astype(object)
            sources.append(f"column {stem}_{part}")
    parent_names: dict = {}
    if lookup is not None:
        problems = lookup_problems(lookup, ids, file=lookup_file)
        if problems:
            raise problems[0]
        by_id = lookup.assign(_k=lookup["id"].map(_key)).set_index("_k")
        keys = table["group"].map(_key)
        for part in ("name", "type", "parent"):
            mapped = keys.map(by_id[part])
            table[part] = mapped.where(mapped.notna(), table[part]).astype(object)
        parent_names = {k: str(v) for k, v in by_id["name"].items() if pd.notna(v)}
        sources.insert(0, lookup_file)
    return Organisations(group_column=group, table=table, source=", ".join(sources) or "ids only",
                         parent_names=parent_names)
