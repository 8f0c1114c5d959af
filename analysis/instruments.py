"""Survey instruments: the YAML files in ``survey_instruments/`` as validated objects.

An instrument lists a survey's constructs (each with its items, response scale, reverse
keys, the research topic it serves and the literature it comes from), its demographics
and the columns that identify respondents and their groups. Files are read with
``yaml.safe_load`` and checked against ``survey_instruments/schema.yaml`` (a JSON-Schema
subset) and then for whole-file consistency (unique ids, known scale names, label codes
inside the scale range). Any problem raises :class:`~analysis.errors.InputError` naming
the file and the key, e.g. ``file 'x.yaml': key 'constructs[2].items[0].text': ...``.

A user adds an instrument by dropping a file of the same shape into the folder;
``list_instruments`` finds it by scanning the folder each time it is called.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd
import yaml

from analysis.errors import InputError

INSTRUMENT_DIR = Path(__file__).resolve().parents[1] / "survey_instruments"
SCHEMA_FILE = "schema.yaml"
TOPICS = {
    1: "Knowledge, skills and attitudes",
    2: "Strategic resources and organisational conditions",
    3: "Antecedents, drivers, challenges and outcomes",
}
ELEMENTS = ("data", "interaction", "tailoring", "simplification")
CHANNELS = ("digital", "offline")


# --------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------

def _safe_load(stream):
    """``yaml.safe_load`` through libyaml's C parser when PyYAML has it (the same safe subset,
    about ten times faster: every command reads the bundled instruments)."""
    return yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

def _named(entries, attribute: str, wanted: str, message: str, hint):
    """The entry whose ``attribute`` is ``wanted``; otherwise an InputError with ``hint()``, the
    names that exist (made only then)."""
    for entry in entries:
        if getattr(entry, attribute) == wanted:
            return entry
    raise InputError(message, hint=hint())

@dataclass(frozen=True)
class ResponseScale:
    """Integer response range ``min..max`` with labels for (some of) its codes."""
    min: int
    max: int
    labels: dict[int, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.min, self.max, tuple(sorted(self.labels.items()))))

    @property
    def codes(self) -> list[int]:
        return list(range(self.min, self.max + 1))

    def to_dict(self) -> dict:
        return {"min": self.min, "max": self.max, "labels": dict(self.labels)}


@dataclass(frozen=True)
class Item:
    """One question. ``reverse`` items are scored as ``min + max - answer``."""
    id: str
    text: str
    reverse: bool
    scale: ResponseScale
    channel: str | None = None
    element: str | None = None
    construct: str | None = None  # key of the construct the item belongs to

    def __hash__(self) -> int:
        return hash(("item", self.id))

    def to_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "reverse": self.reverse,
                "scale": self.scale.to_dict(), "channel": self.channel,
                "element": self.element, "construct": self.construct}


@dataclass(frozen=True)
class Construct:
    """A latent construct measured by ``items`` on one response ``scale``.

    ``topic`` is the research topic (1 knowledge/skills/attitudes, 2 strategic resources
    and organisational conditions, 3 antecedents/drivers/challenges/outcomes);
    ``shared_key`` marks constructs measured in more than one survey so they can be
    compared (e.g. ``digital_skills`` for public servants and citizens);
    ``readiness_dimension`` flags the organisational-readiness dimensions; ``element``
    (data/interaction/tailoring/simplification) and ``channel`` (digital/offline) are set
    where they apply; ``family`` groups related constructs (e.g. ``benefits``, ``readiness``).
    """
    key: str
    label: str
    topic: int
    source: str
    scale: ResponseScale
    items: list[Item]
    readiness_dimension: bool = False
    shared_key: str | None = None
    kind: str = "likert"
    description: str = ""
    element: str | None = None
    channel: str | None = None
    family: str | None = None
    min_share: float | None = None  # share of items answered for a score (None: the caller's)

    def __hash__(self) -> int:
        return hash(("construct", self.key))

    @property
    def item_ids(self) -> list[str]:
        return [it.id for it in self.items]

    @property
    def reverse_items(self) -> list[str]:
        return [it.id for it in self.items if it.reverse]

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "topic": self.topic,
                "source": self.source, "scale": self.scale.to_dict(),
                "items": [it.to_dict() for it in self.items],
                "readiness_dimension": self.readiness_dimension,
                "shared_key": self.shared_key, "kind": self.kind,
                "description": self.description, "element": self.element,
                "channel": self.channel, "family": self.family}


@dataclass(frozen=True)
class Demographic:
    """A background variable; ``levels`` maps codes to labels for categorical ones."""
    id: str
    label: str
    type: str
    levels: dict[int, str] | None = None

    def __hash__(self) -> int:
        return hash(("demographic", self.id))

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "type": self.type,
                "levels": dict(self.levels) if self.levels else None}


@dataclass(frozen=True)
class Instrument:
    """A validated survey instrument (one YAML file)."""
    id: str
    title: str
    respondent: str
    id_column: str
    group_columns: dict[str, str]
    constructs: list[Construct]
    demographics: list[Demographic]
    missing_codes: list = field(default_factory=list)
    version: str | None = None
    path: str | None = None

    def __hash__(self) -> int:
        return hash(("instrument", self.id, self.path))

    # -- look-ups ------------------------------------------------------------------
    @property
    def items(self) -> list[Item]:
        """All items of all constructs, in file order."""
        return [it for c in self.constructs for it in c.items]

    @property
    def item_ids(self) -> list[str]:
        return [it.id for it in self.items]

    @property
    def readiness_dimensions(self) -> list[Construct]:
        return [c for c in self.constructs if c.readiness_dimension]

    @property
    def columns(self) -> list[str]:
        """Expected data columns: respondent id, group ids, items, demographics."""
        return ([self.id_column] + list(self.group_columns.values()) + self.item_ids
                + [d.id for d in self.demographics])

    def construct(self, key: str) -> Construct:
        return _named(self.constructs, "key", key, f"instrument '{self.id}' has no construct '{key}'",
                      lambda: "known constructs: " + ", ".join(c.key for c in self.constructs))

    def item(self, item_id: str) -> Item:
        return _named(self.items, "id", item_id, f"instrument '{self.id}' has no item '{item_id}'",
                      lambda: "item ids look like " + ", ".join(self.item_ids[:4]))

    def demographic(self, demographic_id: str) -> Demographic:
        return _named(self.demographics, "id", demographic_id,
                      f"instrument '{self.id}' has no demographic '{demographic_id}'",
                      lambda: "known demographics: " + ", ".join(d.id for d in self.demographics))

    def construct_of(self, item_id: str) -> Construct:
        """The construct an item belongs to."""
        return self.construct(self.item(item_id).construct)

    def constructs_by_topic(self, topic: int) -> list[Construct]:
        return [c for c in self.constructs if c.topic == int(topic)]

    def constructs_by_family(self, family: str) -> list[Construct]:
        return [c for c in self.constructs if c.family == family]

    def shared_construct(self, shared_key: str) -> Construct | None:
        """The construct carrying ``shared_key`` (for comparisons across surveys)."""
        for c in self.constructs:
            if c.shared_key == shared_key:
                return c
        return None

    # -- output --------------------------------------------------------------------
    def codebook(self) -> pd.DataFrame:
        """One row per item and demographic: the printable codebook."""
        rows = []
        for c in self.constructs:
            for it in c.items:
                rows.append({
                    "variable": it.id, "construct": c.key, "construct_label": c.label,
                    "topic": c.topic, "text": it.text, "reverse": it.reverse,
                    "min": it.scale.min, "max": it.scale.max,
                    "labels": "; ".join(f"{k} = {v}" for k, v in sorted(it.scale.labels.items())),
                    "kind": c.kind, "channel": it.channel, "element": it.element,
                    "readiness_dimension": c.readiness_dimension, "shared_key": c.shared_key,
                    "source": c.source, "description": c.description})
        for d in self.demographics:
            rows.append({
                "variable": d.id, "construct": "demographics", "construct_label": d.label,
                "topic": None, "text": d.label, "reverse": False, "min": None, "max": None,
                "labels": "; ".join(f"{k} = {v}" for k, v in sorted((d.levels or {}).items())),
                "kind": d.type, "channel": None, "element": None,
                "readiness_dimension": False, "shared_key": None, "source": None,
                "description": ""})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "respondent": self.respondent,
                "version": self.version, "id_column": self.id_column,
                "group_columns": dict(self.group_columns),
                "missing_codes": list(self.missing_codes),
                "constructs": [c.to_dict() for c in self.constructs],
                "demographics": [d.to_dict() for d in self.demographics]}


# --------------------------------------------------------------------------------------
# Schema check (a small JSON-Schema subset; see survey_instruments/schema.yaml)
# --------------------------------------------------------------------------------------
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class _SchemaError(Exception):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key
        self.message = message


def _key(path: str, name: Any) -> str:
    return f"{path}.{name}" if path else str(name)


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    if not ref.startswith("#/"):
        raise ValueError(f"unsupported $ref {ref!r} in the instrument schema")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return _resolve(node, root)


def _check(value: Any, schema: dict, path: str, root: dict) -> None:
    """Raise _SchemaError at the first place where ``value`` breaks ``schema``."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                _check(value, option, path, root)
                return
            except _SchemaError as err:
                errors.append(err)
        # report the deepest complaint: it is usually the useful one
        deepest = max(errors, key=lambda e: len(e.key))
        raise deepest
    if "enum" in schema and value not in schema["enum"]:
        raise _SchemaError(path, f"must be one of {', '.join(map(str, schema['enum']))}, got {value!r}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            if isinstance(value, bool) and "string" in types:
                raise _SchemaError(path, f"must be text, got {value!r}: YAML reads a bare yes/no/on/off "
                                         "as true/false, so put the text in quotes")
            raise _SchemaError(path, f"must be {' or '.join(types)}, got {type(value).__name__} {value!r}")
    if isinstance(value, str):
        if len(value.strip()) < schema.get("minLength", 0):
            raise _SchemaError(path, "must not be empty")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise _SchemaError(path, f"{value!r} is not a valid name (letters, digits and _; "
                                     "starting with a letter)")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            raise _SchemaError(path, f"must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise _SchemaError(path, f"must be at most {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise _SchemaError(path, f"needs at least {schema['minItems']} entr"
                                     f"{'y' if schema['minItems'] == 1 else 'ies'}")
        if "items" in schema:
            for i, element in enumerate(value):
                label = element.get("key") or element.get("id") if isinstance(element, dict) else None
                where = f"{path}[{i}]" + (f" ({label})" if isinstance(label, str) else "")
                _check(element, schema["items"], where, root)
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                raise _SchemaError(_key(path, name), "required key is missing")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, element in value.items():
            if name in properties:
                _check(element, properties[name], _key(path, name), root)
            elif extra is False:
                known = ", ".join(properties)
                raise _SchemaError(_key(path, name), f"unknown key (allowed here: {known})")
            elif isinstance(extra, dict):
                _check(element, extra, _key(path, name), root)


@functools.lru_cache(maxsize=4)
def _schema_cached(path: str, mtime_ns: int) -> dict:
    with open(path, encoding="utf-8") as handle:
        return _safe_load(handle)


def load_schema(directory: str | Path | None = None) -> dict:
    """The instrument schema (``schema.yaml``), from ``directory`` or the bundled folder."""
    path = Path(directory) / SCHEMA_FILE if directory else INSTRUMENT_DIR / SCHEMA_FILE
    if not path.exists():
        path = INSTRUMENT_DIR / SCHEMA_FILE
    return _schema_cached(str(path), path.stat().st_mtime_ns)


def validate_instrument_data(data: Any, *, file: str = "instrument") -> None:
    """Check parsed YAML against the schema; raise InputError naming ``file`` and the key."""
    if not isinstance(data, dict):
        raise InputError("an instrument file must be a YAML mapping with keys id, title, "
                         "respondent, id_column and constructs", file=file,
                         hint="start from survey_instruments/public_servant.yaml")
    schema = load_schema()
    try:
        _check(data, schema, "", schema)
    except _SchemaError as err:
        raise InputError(f"key '{err.key}': {err.message}", file=file,
                         hint="see survey_instruments/schema.yaml for the expected shape") from None


# --------------------------------------------------------------------------------------
# Building objects
# --------------------------------------------------------------------------------------
def _scale(spec: Any, named: Mapping[str, ResponseScale], key: str, file: str) -> ResponseScale:
    if isinstance(spec, str):
        if spec not in named:
            raise InputError(f"key '{key}': unknown scale '{spec}'", file=file,
                             hint="define it under 'scales' (known: " + (", ".join(named) or "none") + ")")
        return named[spec]
    return _make_scale(spec, key, file)


def _make_scale(spec: Mapping, key: str, file: str) -> ResponseScale:
    lo, hi = int(spec["min"]), int(spec["max"])
    if lo >= hi:
        raise InputError(f"key '{key}': the scale minimum ({lo}) must be below its maximum ({hi})",
                         file=file)
    labels = _labels(spec.get("labels") or {}, f"{key}.labels", file)
    outside = [c for c in labels if not lo <= c <= hi]
    if outside:
        raise InputError(f"key '{key}.labels': code(s) {', '.join(map(str, outside))} lie outside "
                         f"the scale {lo}..{hi}", file=file)
    return ResponseScale(lo, hi, labels)


def _labels(spec: Mapping, key: str, file: str) -> dict[int, str]:
    labels = {}
    for code, text in spec.items():
        try:
            number = int(code)
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(code, bool) or str(number) != str(code).strip():
            raise InputError(f"key '{key}.{code}': label codes must be whole numbers", file=file)
        labels[number] = str(text)
    return dict(sorted(labels.items()))


def build_instrument(data: Any, *, file: str = "instrument", path: str | None = None) -> Instrument:
    """Validate parsed YAML (a dict) and build the :class:`Instrument`."""
    validate_instrument_data(data, file=file)
    named = {name: _make_scale(spec, f"scales.{name}", file)
             for name, spec in (data.get("scales") or {}).items()}
    constructs: list[Construct] = []
    seen_items: dict[str, str] = {}
    seen_keys: set[str] = set()
    for ci, spec in enumerate(data["constructs"]):
        where = f"constructs[{ci}] ({spec['key']})"
        if spec["key"] in seen_keys:
            raise InputError(f"key '{where}.key': construct key '{spec['key']}' is used twice",
                             file=file, hint="give each construct its own key")
        seen_keys.add(spec["key"])
        scale = _scale(spec["scale"], named, f"{where}.scale", file)
        kind = spec.get("kind", "likert")
        if kind == "binary" and (scale.min, scale.max) != (0, 1):
            raise InputError(f"key '{where}.scale': a binary construct needs a 0..1 scale, "
                             f"got {scale.min}..{scale.max}", file=file)
        items = []
        for ii, item in enumerate(spec["items"]):
            item_key = f"{where}.items[{ii}] ({item['id']})"
            if item["id"] in seen_items:
                raise InputError(f"key '{item_key}.id': item id '{item['id']}' is used twice "
                                 f"(also in construct '{seen_items[item['id']]}')", file=file,
                                 hint="item ids must be unique within an instrument")
            seen_items[item["id"]] = spec["key"]
            item_scale = _scale(item["scale"], named, f"{item_key}.scale", file) \
                if "scale" in item else scale
            items.append(Item(id=item["id"], text=item["text"].strip(),
                              reverse=bool(item.get("reverse", False)), scale=item_scale,
                              channel=item.get("channel", spec.get("channel")),
                              element=item.get("element", spec.get("element")),
                              construct=spec["key"]))
        constructs.append(Construct(
            key=spec["key"], label=spec["label"], topic=int(spec["topic"]),
            source=spec["source"].strip(), scale=scale, items=items,
            readiness_dimension=bool(spec.get("readiness_dimension", False)),
            shared_key=spec.get("shared_key"), kind=kind,
            description=" ".join(str(spec.get("description", "")).split()),
            element=spec.get("element"), channel=spec.get("channel"),
            family=spec.get("family")))
    demographics = []
    for di, spec in enumerate(data.get("demographics") or []):
        levels = _labels(spec["levels"], f"demographics[{di}] ({spec['id']}).levels", file) \
            if spec.get("levels") else None
        if spec["type"] == "categorical" and not levels:
            raise InputError(f"key 'demographics[{di}] ({spec['id']}).levels': a categorical "
                             "demographic needs its levels (code: label)", file=file)
        demographics.append(Demographic(spec["id"], spec["label"], spec["type"], levels))
    group_columns = {str(k): str(v) for k, v in (data.get("group_columns") or {}).items()}
    # Item, id, group and demographic columns all live in one data frame: no clashes.
    taken: dict[str, str] = {}
    for name, role in ([(data["id_column"], "id_column")]
                       + [(v, f"group_columns.{k}") for k, v in group_columns.items()]
                       + [(i, "item") for i in seen_items]
                       + [(d.id, "demographics") for d in demographics]):
        if name in taken:
            raise InputError(f"key '{role}': column name '{name}' is also used by '{taken[name]}'",
                             file=file, hint="every column of the survey needs its own name")
        taken[name] = role
    return Instrument(id=data["id"], title=data["title"], respondent=data["respondent"],
                      id_column=data["id_column"], group_columns=group_columns,
                      constructs=constructs, demographics=demographics,
                      missing_codes=list(data.get("missing_codes") or []),
                      version=None if data.get("version") is None else str(data["version"]),
                      path=path)


def parse_instrument(text: str | bytes, *, file: str = "uploaded instrument") -> Instrument:
    """Build an instrument from YAML text (e.g. an uploaded file)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the instrument file is not UTF-8 text", file=file,
                             hint="save it as UTF-8 YAML") from None
    try:
        data = _safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise InputError(f"cannot read YAML{where}: {problem}", file=file,
                         hint="check indentation and quote texts that contain ':' or ','") from None
    return build_instrument(data, file=file)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------
def _instrument_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.suffix.lower() in (".yaml", ".yml") and p.name != SCHEMA_FILE
                  and not p.name.startswith("."))


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int, size: int) -> Instrument:
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read the instrument file: {err.strerror}", file=file.name) from None
    instrument = parse_instrument(raw, file=file.name)
    return Instrument(**{**instrument.__dict__, "path": path})


@functools.lru_cache(maxsize=64)
def _declared_id(path: str, mtime_ns: int) -> str:
    try:
        data = _safe_load(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return data["id"]
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        pass
    return Path(path).stem


def list_instruments(directory: str | Path | None = None) -> list[str]:
    """Ids of the instruments in ``directory`` (default: the bundled ``survey_instruments/``).

    The folder is scanned on every call, so a file a user drops in is listed at once. A
    file that cannot be parsed is listed under its file name, so that loading it shows
    what is wrong with it.
    """
    folder = Path(directory) if directory else INSTRUMENT_DIR
    ids = []
    for path in _instrument_files(folder):
        ident = _declared_id(str(path), path.stat().st_mtime_ns)
        if ident not in ids:
            ids.append(ident)
    return ids


def instrument_path(name: str, directory: str | Path | None = None) -> Path:
    """The file holding instrument ``name`` (by declared id, then by file name)."""
    folder = Path(directory) if directory else INSTRUMENT_DIR
    files = _instrument_files(folder)
    for path in files:
        if _declared_id(str(path), path.stat().st_mtime_ns) == name:
            return path
    for path in files:
        if path.stem == name:
            return path
    known = list_instruments(folder)
    raise InputError(f"no instrument called '{name}'",
                     hint="known instruments: " + (", ".join(known) if known else "none")
                     + f"; put a YAML file in {folder}")


def load_instrument(name_or_path: str | Path, directory: str | Path | None = None) -> Instrument:
    """Load and validate an instrument by id (e.g. ``'citizen'``) or by file path.

    Results are cached on (path, modification time, size), so an edited file is re-read.
    """
    candidate = Path(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or candidate.suffix.lower() in (".yaml", ".yml") \
        or len(candidate.parts) > 1
    if looks_like_path:
        if not candidate.is_file():
            raise InputError("instrument file not found", file=str(name_or_path),
                             hint="give an existing .yaml file or an instrument id such as "
                                  "'public_servant'")
        path = candidate.resolve()
    else:
        path = instrument_path(str(name_or_path), directory)
    stat = path.stat()
    return _load_cached(str(path), stat.st_mtime_ns, stat.st_size)


def load_instruments(names: Iterable[str] | None = None,
                     directory: str | Path | None = None) -> dict[str, Instrument]:
    """Several instruments by id (default: all listed), as ``{id: Instrument}``."""
    names = list(names) if names is not None else list_instruments(directory)
    return {name: load_instrument(name, directory) for name in names}
