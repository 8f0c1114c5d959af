"""Studies: a researcher's own surveys described by column roles and scales (a YAML file).

A *study* holds one or more *surveys*. Each survey names its data file and says which
column is the respondent id, which columns are the grouping levels (innermost first: team,
organisation, municipality ...), which are covariates (demographics), which missing codes
apply on top of those the file declares, and its *scales* (items, reverse-keyed items,
response minimum and maximum, minimum share answered). A built-in instrument
(``instrument: public_servant``) may stand in for the scales and groups.

The file round-trips: ``parse_study(to_yaml(study))`` gives the same study. Structural
mistakes (an item in two scales, min >= max, a scale of one item ...) raise
:class:`~analysis.errors.InputError` naming the key, e.g.
``key 'surveys[0] (soldiers).scales[1] (LEAD).reverse'``. ``check_study`` collects every
problem, including those only the data can show (unknown columns, a group column with one
level or with a level per respondent, a data file missing beside the study file).

``survey_instrument`` turns a survey into the :class:`~analysis.instruments.Instrument`
the rest of the pipeline (validation, cleaning, scoring) already understands, so a user's
own survey and a bundled one take exactly the same path (``analysis.pipeline.prepare_survey``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from analysis.errors import InputError
from analysis.instruments import (Construct, Demographic, Instrument, Item, ResponseScale,
                                  load_instrument)

STUDY_SUFFIXES = (".yaml", ".yml")
RESPONDENTS = ("public servant", "citizen")
_SCALE_KEYS = {"name", "items", "min", "max", "reverse", "min_share", "label", "topic", "family",
               "readiness_dimension", "shared_key", "channel", "element", "kind"}
_SURVEY_KEYS = {"name", "file", "sheet", "id_column", "groups", "covariates", "missing_codes", "scales",
                "instrument", "mapping", "respondent", "title", "min_share", "actions", "labels", "lookup"}
_STUDY_KEYS = {"title", "surveys", "min_n", "settings"}


# --------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    """A scale: its items (columns of the file), reverse-keyed items and response range.

    ``min``/``max`` are the lowest and highest response codes (``None``: taken from the
    answers observed). ``min_share`` is the share of items a respondent must answer to get a
    score (``None``: the survey's). ``family``, ``readiness_dimension``, ``shared_key``,
    ``channel``, ``element`` and ``topic`` place the scale on the research-topic screens
    (the same words as in ``survey_instruments/``).
    """

    name: str
    items: tuple[str, ...]
    min: float | None = None
    max: float | None = None
    reverse: tuple[str, ...] = ()
    min_share: float | None = None
    label: str | None = None
    topic: int | None = None
    family: str | None = None
    readiness_dimension: bool = False
    shared_key: str | None = None
    channel: str | None = None
    element: str | None = None
    kind: str = "likert"

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"name": self.name, "items": list(self.items)}
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is not None:
                out[key] = int(value) if float(value).is_integer() else float(value)
        if self.reverse:
            out["reverse"] = list(self.reverse)
        for key in ("min_share", "label", "topic", "family", "shared_key", "channel", "element"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.readiness_dimension:
            out["readiness_dimension"] = True
        if self.kind != "likert":
            out["kind"] = self.kind
        return out


@dataclass(frozen=True)
class Survey:
    """One survey of a study: its data file and its column roles and scales."""

    name: str
    file: str | None = None
    sheet: str | None = None
    id_column: str | None = None
    groups: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    missing_codes: tuple = ()
    scales: tuple[Scale, ...] = ()
    instrument: str | None = None
    mapping: Mapping[str, str] | None = None  # with an instrument: item id -> column
    respondent: str | None = None  # 'public servant' or 'citizen': which topic screens use it
    title: str | None = None
    min_share: float = 0.5
    actions: Mapping[str, str] = field(default_factory=dict)  # validation problem code -> action
    labels: Mapping[str, str] = field(default_factory=dict)  # column -> question text (own words)
    # names and types of a group column's units: {file: organisations.csv, column: org_id}
    # (analysis.organisations); column defaults to the innermost group
    lookup: Mapping[str, str] | None = None

    def scale(self, name: str) -> Scale:
        for s in self.scales:
            if s.name == name:
                return s
        raise InputError(f"survey '{self.name}' has no scale '{name}'",
                         hint="scales: " + (", ".join(s.name for s in self.scales) or "none"))

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"name": self.name}
        for key in ("title", "respondent", "file", "sheet", "instrument", "id_column"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ("groups", "covariates", "missing_codes"):  # lists, written only when given
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.mapping:
            out["mapping"] = dict(self.mapping)
        if self.min_share != 0.5:
            out["min_share"] = self.min_share
        for key in ("actions", "labels", "lookup"):  # mappings, written only when given
            if getattr(self, key):
                out[key] = dict(getattr(self, key))
        if self.scales:
            out["scales"] = [s.to_dict() for s in self.scales]
        return out


@dataclass(frozen=True)
class Study:
    """A study: a title, its surveys, the privacy threshold; ``base_dir`` locates the files."""

    title: str
    surveys: tuple[Survey, ...]
    min_n: int | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    base_dir: str | None = None
    file: str = "study file"

    @property
    def survey_names(self) -> list[str]:
        return [s.name for s in self.surveys]

    def survey(self, name: str | None = None) -> Survey:
        """The survey called ``name``; with ``None`` the only one (an error when there are several)."""
        if name is None:
            if len(self.surveys) == 1:
                return self.surveys[0]
            raise InputError("the study has several surveys: say which with --survey", file=self.file,
                             key="surveys", hint="surveys: " + ", ".join(self.survey_names))
        for s in self.surveys:
            if s.name == name:
                return s
        raise InputError(f"the study has no survey '{name}'", file=self.file, key="surveys",
                         hint="surveys: " + ", ".join(self.survey_names))

    def with_survey(self, survey: Survey) -> Study:
        """A copy with ``survey`` replacing the one of the same name (or added)."""
        names = self.survey_names
        if survey.name in names:
            surveys = tuple(survey if s.name == survey.name else s for s in self.surveys)
        else:
            surveys = (*self.surveys, survey)
        return replace(self, surveys=surveys)

    def data_path(self, survey: Survey) -> Path:
        if not survey.file:
            raise InputError(f"survey '{survey.name}' names no data file", file=self.file,
                             key=f"{survey_key(self, survey)}.file", hint="add file: NAME beside the study file")
        path = Path(survey.file)
        if not path.is_absolute() and self.base_dir:
            path = Path(self.base_dir) / path
        return path

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"title": self.title}
        if self.min_n is not None:
            out["min_n"] = int(self.min_n)
        if self.settings:
            out["settings"] = dict(self.settings)
        out["surveys"] = [s.to_dict() for s in self.surveys]
        return out


def survey_key(study: Study, survey: Survey) -> str:
    """The study file's key of ``survey``, e.g. ``surveys[0] (soldiers)``."""
    i = study.survey_names.index(survey.name) if survey.name in study.survey_names else 0
    return f"surveys[{i}] ({survey.name})"


# --------------------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------------------
def to_yaml(study: Study) -> str:
    """The study as a human-readable YAML file (keys in a fixed, readable order)."""
    return yaml.safe_dump(study.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=None,
                          width=100)


def parse_study(text: str | bytes, *, file: str = "study file", base_dir: str | Path | None = None) -> Study:
    """Build a study from YAML text; every mistake raises ``InputError`` naming the key."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("the study file is not UTF-8 text", file=file, hint="save it as UTF-8 YAML") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"cannot read YAML{where}: {getattr(err, 'problem', None) or 'invalid YAML'}", file=file,
                         hint="check indentation and quote texts that contain ':' or ','") from None
    return study_from_dict(data, file=file, base_dir=base_dir)


def load_study(path: str | Path) -> Study:
    """Read a study file; data files are found relative to it."""
    p = Path(path)
    if not p.is_file():
        raise InputError("study file not found", file=str(path), hint="give the path of a .yaml study file")
    return parse_study(p.read_bytes(), file=p.name, base_dir=p.resolve().parent)


def is_study_file(path: str | Path) -> bool:
    return Path(str(path)).suffix.lower() in STUDY_SUFFIXES


def _err(file: str, key: str, message: str, hint: str | None = None) -> InputError:
    return InputError(message, file=file, key=key, hint=hint)


def _names(value: Any, key: str, file: str, *, what: str = "column names") -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        raise _err(file, key, f"must be a list of {what}", "e.g. [lead_1, lead_2, lead_3]")
    names = tuple(str(v) for v in value)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _err(file, key, f"'{twice[0]}' is listed twice", "list each column once")
    return names


def _number(value: Any, key: str, file: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(file, key, f"must be a number, got {value!r}")
    return float(value)


def _text(value: Any, key: str, file: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise _err(file, key, "required key is missing")
        return None
    if isinstance(value, bool):
        raise _err(file, key, f"must be text, got {value!r}: YAML reads a bare yes/no/on/off as true/false, "
                              "so put the text in quotes")
    if not isinstance(value, (str, int, float)) or not str(value).strip():
        raise _err(file, key, "must be non-empty text")
    return str(value).strip()


def _unknown_keys(spec: Mapping, allowed: set[str], key: str, file: str) -> None:
    for name in spec:
        if name not in allowed:
            raise _err(file, f"{key}.{name}" if key else str(name), "unknown key",
                       "allowed here: " + ", ".join(sorted(allowed)))


def _scale_from(spec: Any, key: str, file: str) -> Scale:
    if not isinstance(spec, dict):
        raise _err(file, key, "a scale must be a mapping with name and items",
                   "e.g. {name: LEAD, items: [lead_1, lead_2], min: 1, max: 5}")
    name = _text(spec.get("name"), f"{key}.name", file, required=True)
    assert name is not None
    key = f"{key} ({name})"
    _unknown_keys(spec, _SCALE_KEYS, key, file)
    items = _names(spec.get("items"), f"{key}.items", file)
    if len(items) < 2:
        raise _err(file, f"{key}.items", f"a scale needs at least two items, got {len(items)}",
                   "add items, or analyse a single question as a column of its own (not a scale)")
    lo, hi = _number(spec.get("min"), f"{key}.min", file), _number(spec.get("max"), f"{key}.max", file)
    if (lo is None) != (hi is None):
        raise _err(file, f"{key}.{'max' if hi is None else 'min'}", "give both min and max, or neither "
                   "(then the observed answers set the range)")
    if lo is not None and hi is not None and lo >= hi:
        raise _err(file, f"{key}.min", f"the minimum ({_fmt(lo)}) must be below the maximum ({_fmt(hi)})")
    reverse = _names(spec.get("reverse"), f"{key}.reverse", file)
    outside = [r for r in reverse if r not in items]
    if outside:
        raise _err(file, f"{key}.reverse", f"reverse item '{outside[0]}' is not one of the scale's items",
                   "list only items of this scale under reverse")
    share = _number(spec.get("min_share"), f"{key}.min_share", file)
    if share is not None and not 0 < share <= 1:
        raise _err(file, f"{key}.min_share", "must be above 0 and at most 1 (a share of the items)")
    topic = spec.get("topic")
    if topic is not None and (isinstance(topic, bool) or topic not in (1, 2, 3)):
        raise _err(file, f"{key}.topic", "must be 1, 2 or 3 (the research agenda's topics)")
    readiness = spec.get("readiness_dimension", False)
    if not isinstance(readiness, bool):
        raise _err(file, f"{key}.readiness_dimension", "must be true or false")
    kind = spec.get("kind", "likert")
    if kind not in ("likert", "binary", "frequency"):
        raise _err(file, f"{key}.kind", "must be likert, binary or frequency")
    return Scale(name=name, items=items, min=lo, max=hi, reverse=reverse, min_share=share,
                 label=_text(spec.get("label"), f"{key}.label", file), topic=topic,
                 family=_text(spec.get("family"), f"{key}.family", file), readiness_dimension=readiness,
                 shared_key=_text(spec.get("shared_key"), f"{key}.shared_key", file),
                 channel=_text(spec.get("channel"), f"{key}.channel", file),
                 element=_text(spec.get("element"), f"{key}.element", file), kind=kind)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _survey_from(spec: Any, key: str, file: str) -> Survey:
    if not isinstance(spec, dict):
        raise _err(file, key, "a survey must be a mapping with name, file and scales (or instrument)")
    name = _text(spec.get("name"), f"{key}.name", file, required=True)
    assert name is not None
    key = f"{key} ({name})"
    _unknown_keys(spec, _SURVEY_KEYS, key, file)
    instrument = _text(spec.get("instrument"), f"{key}.instrument", file)
    raw_scales = spec.get("scales") or []
    if not isinstance(raw_scales, list):
        raise _err(file, f"{key}.scales", "must be a list of scales")
    scales = tuple(_scale_from(s, f"{key}.scales[{i}]", file) for i, s in enumerate(raw_scales))
    seen_scale: set[str] = set()
    seen_item: dict[str, str] = {}
    for i, s in enumerate(scales):
        skey = f"{key}.scales[{i}] ({s.name})"
        if s.name in seen_scale:
            raise _err(file, f"{skey}.name", f"scale name '{s.name}' is used twice", "give each scale its own name")
        seen_scale.add(s.name)
        for item in s.items:
            if item in seen_item:
                raise _err(file, f"{skey}.items", f"item '{item}' is in two scales ('{seen_item[item]}' and "
                                                  f"'{s.name}')", "put each item in one scale only")
            seen_item[item] = s.name
    # A survey may name no scales and no roles yet: its columns are analysed as they are (the Data
    # page starts an own survey this way, before the researcher has chosen its roles and scales).
    groups = _names(spec.get("groups"), f"{key}.groups", file)
    covariates = _names(spec.get("covariates"), f"{key}.covariates", file)
    id_column = _text(spec.get("id_column"), f"{key}.id_column", file)
    roles: dict[str, str] = {}
    for col, role in ([(id_column, "id_column")] if id_column else []) + [(g, "groups") for g in groups] \
            + [(c, "covariates") for c in covariates] + [(i, f"scales ({seen_item[i]})") for i in seen_item]:
        if col in roles:
            raise _err(file, f"{key}.{role.split(' ')[0]}", f"column '{col}' has two roles ({roles[col]} and {role})",
                       "give each column one role")
        roles[col] = role
    for s in scales:
        if s.name in roles:
            raise _err(file, f"{key}.scales", f"scale name '{s.name}' is also a column ({roles[s.name]})",
                       "name the scale differently from the file's columns (its score becomes a column)")
    codes = spec.get("missing_codes") or []
    if not isinstance(codes, list) or not all(isinstance(c, (int, float, str)) and not isinstance(c, bool)
                                              for c in codes):
        raise _err(file, f"{key}.missing_codes", "must be a list of codes", "e.g. [-99, -9]")
    respondent = _text(spec.get("respondent"), f"{key}.respondent", file)
    if respondent is not None and respondent not in RESPONDENTS:
        raise _err(file, f"{key}.respondent", f"must be one of: {', '.join(RESPONDENTS)}")
    share = _number(spec.get("min_share", 0.5), f"{key}.min_share", file)
    if share is None or not 0 < share <= 1:
        raise _err(file, f"{key}.min_share", "must be above 0 and at most 1")
    mapping = spec.get("mapping")
    if mapping is not None and (not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values())):
        raise _err(file, f"{key}.mapping", "must map item ids to column names", "e.g. {ps_dsk1: Q3_1}")
    for what in ("actions", "labels"):
        value = spec.get(what)
        if value is not None and not isinstance(value, dict):
            raise _err(file, f"{key}.{what}", "must be a mapping")
    lookup = _lookup_from(spec.get("lookup"), f"{key}.lookup", file, groups)
    sheet = spec.get("sheet")
    return Survey(name=name, file=_text(spec.get("file"), f"{key}.file", file),
                  sheet=None if sheet is None else str(sheet), id_column=id_column, groups=groups,
                  covariates=covariates, missing_codes=tuple(codes), scales=scales, instrument=instrument,
                  mapping={str(k): str(v) for k, v in mapping.items()} if mapping else None,
                  respondent=respondent, title=_text(spec.get("title"), f"{key}.title", file), min_share=share,
                  actions={str(k): str(v) for k, v in (spec.get("actions") or {}).items()},
                  labels={str(k): str(v) for k, v in (spec.get("labels") or {}).items()}, lookup=lookup)


def _lookup_from(spec: Any, key: str, file: str, groups: Sequence[str]) -> dict[str, str] | None:
    """A survey's ``lookup`` key: ``{file: NAME, column: GROUP}`` (column optional)."""
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = {"file": spec}
    if not isinstance(spec, dict):
        raise _err(file, key, "must be a mapping with file (and column)",
                   "e.g. {file: organisations.csv, column: org_id}")
    _unknown_keys(spec, {"file", "column"}, key, file)
    name = _text(spec.get("file"), f"{key}.file", file, required=True)
    column = _text(spec.get("column"), f"{key}.column", file)
    if column is not None and groups and column not in groups:
        raise _err(file, f"{key}.column", f"'{column}' is not one of the survey's groups",
                   "groups: " + ", ".join(groups))
    out = {"file": str(name)}
    if column is not None:
        out["column"] = column
    return out


def lookup_spec(study: Study, survey: Survey) -> tuple[Path, str | None] | None:
    """``(path of the lookup file, group column or None)`` of a survey with a ``lookup`` key."""
    if not survey.lookup:
        return None
    path = Path(survey.lookup["file"])
    if not path.is_absolute() and study.base_dir:
        path = Path(study.base_dir) / path
    column = survey.lookup.get("column") or (survey.groups[0] if survey.groups else None)
    return path, column


def lookup_check(study: Study, survey: Survey, data) -> list[dict]:
    """Problems of a survey's lookup file against its data (unknown or duplicate ids ...),
    each with the key, the row and the id (``analysis.organisations.lookup_problems``)."""
    from analysis.organisations import lookup_problems, read_lookup

    spec = lookup_spec(study, survey)
    if spec is None:
        return []
    path, column = spec
    key = f"{survey_key(study, survey)}.lookup"
    if column is None and survey.instrument:
        column = load_instrument(survey.instrument).group_columns.get("organisation")
    if not path.is_file():
        return [{"key": f"{key}.file", "message": f"the lookup file '{path.name}' is not beside the study "
                 "file", "column": None, "hint": "put it in the study file's folder, or correct the name"}]
    if column is None or column not in data.columns:
        return [{"key": f"{key}.column", "message": f"the lookup's group column '{column}' is not in the data",
                 "column": column, "hint": "name the column that holds the organisation ids"}]
    try:
        frame = read_lookup(path)
    except InputError as exc:
        return [{**_row(exc), "key": f"{key}.file"}]
    found = lookup_problems(frame, data[column].unique(), file=path.name)
    return [{**_row(e), "key": key, "row": e.row} for e in found]


def study_from_dict(data: Any, *, file: str = "study file", base_dir: str | Path | None = None) -> Study:
    """Build a :class:`Study` from parsed YAML, checking its structure key by key."""
    if not isinstance(data, dict):
        raise InputError("a study file must be a YAML mapping with title and surveys", file=file,
                         hint="see the example in the README (title:, surveys: [...])")
    _unknown_keys(data, _STUDY_KEYS, "", file)
    title = _text(data.get("title"), "title", file) or "Untitled study"
    surveys_spec = data.get("surveys")
    if not isinstance(surveys_spec, list) or not surveys_spec:
        raise _err(file, "surveys", "needs a list with at least one survey")
    surveys = tuple(_survey_from(s, f"surveys[{i}]", file) for i, s in enumerate(surveys_spec))
    names = [s.name for s in surveys]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _err(file, f"surveys[{names.index(twice[0], names.index(twice[0]) + 1)}] ({twice[0]}).name",
                   f"survey name '{twice[0]}' is used twice", "give each survey its own name")
    min_n = data.get("min_n")
    if min_n is not None and (isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1):
        raise _err(file, "min_n", "must be a whole number of respondents (the privacy threshold)")
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise _err(file, "settings", "must be a mapping")
    return Study(title=title, surveys=surveys, min_n=min_n, settings=settings,
                 base_dir=None if base_dir is None else str(base_dir), file=file)


# --------------------------------------------------------------------------------------
# A survey as an instrument (what validation, cleaning and scoring understand)
# --------------------------------------------------------------------------------------
_SAFE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _observed_range(columns: Mapping[str, Sequence[float]] | None, items: Iterable[str]) -> tuple[float, float] | None:
    if not columns:
        return None
    lo, hi = None, None
    for item in items:
        values = columns.get(item)
        if values is None or len(values) == 0:
            continue
        a, b = min(values), max(values)
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    if lo is None or hi is None or lo >= hi:
        return None
    return float(lo), float(hi)


def survey_instrument(survey: Survey, *, observed: Mapping[str, Sequence[float]] | None = None,
                      meta: Mapping[str, Any] | None = None, data=None) -> Instrument:
    """The :class:`Instrument` describing ``survey`` for validation, cleaning and scoring.

    With ``instrument:`` set, the bundled instrument (its groups replaced by the survey's
    ``groups`` when given, the survey's missing codes added). Otherwise one construct per
    scale, keyed by the scale's name, its items being the file's columns (so the mapping is
    the identity); a scale without ``min``/``max`` takes the range of the answers in
    ``observed`` (``{column: valid answers}``). Item texts come from the study's ``labels``,
    else the file's variable labels (SPSS/Stata labels, Qualtrics question texts), and
    response labels from the file's value labels. A covariate is categorical when it has value
    labels, is text, or has at most 12 distinct values in ``data``; numeric otherwise (numeric
    covariates are never filter or breakdown columns).
    """
    meta = meta or {}
    var_labels = {**dict(meta.get("variable_labels") or {}), **dict(survey.labels)}
    value_labels = dict(meta.get("value_labels") or {})
    if survey.instrument:
        base = load_instrument(survey.instrument)
        groups = ({g: g for g in survey.groups} if survey.groups else dict(base.group_columns))
        return replace(base, id_column=survey.id_column or base.id_column, group_columns=groups,
                       missing_codes=list(dict.fromkeys([*base.missing_codes, *survey.missing_codes])))
    constructs = []
    for s in survey.scales:
        if s.min is not None and s.max is not None:
            lo, hi = s.min, s.max
        else:
            rng = _observed_range(observed, s.items)
            lo, hi = rng if rng else (1.0, 5.0)
        labels = _int_labels(value_labels.get(s.items[0]), lo, hi)
        scale = ResponseScale(_num(lo), _num(hi), labels)
        items = [Item(id=col, text=var_labels.get(col, col), reverse=col in s.reverse, scale=scale,
                      channel=s.channel, element=s.element, construct=s.name) for col in s.items]
        constructs.append(Construct(
            key=s.name, label=s.label or s.name, topic=s.topic or 0, source="the study's own scale", scale=scale,
            items=items, readiness_dimension=s.readiness_dimension, shared_key=s.shared_key, kind=s.kind,
            element=s.element, channel=s.channel, family=s.family, min_share=s.min_share))
    demographics = []
    for col in survey.covariates:
        levels = _int_labels(value_labels.get(col), None, None) or None
        demographics.append(Demographic(col, var_labels.get(col, col), _covariate_type(data, col, levels), levels))
    return Instrument(id=survey.name, title=survey.title or survey.name,
                      respondent=survey.respondent or "respondent", id_column=survey.id_column or "",
                      group_columns={g: g for g in survey.groups}, constructs=constructs,
                      demographics=demographics, missing_codes=list(survey.missing_codes))


def _covariate_type(data, col: str, levels) -> str:
    if levels or data is None or col not in data.columns:
        return "categorical"
    import pandas as pd

    column = data[col]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return "numeric" if column.nunique(dropna=True) > 12 else "categorical"
    return "categorical"


def _num(x: float):
    return int(x) if float(x).is_integer() else float(x)


def _int_labels(labels: Mapping | None, lo: float | None, hi: float | None) -> dict[int, str]:
    out: dict[int, str] = {}
    for code, text in (labels or {}).items():
        try:
            number = float(code)
        except (TypeError, ValueError):
            continue
        if not number.is_integer():
            continue
        if lo is not None and hi is not None and not lo <= number <= hi:
            continue
        out[int(number)] = str(text)
    return dict(sorted(out.items()))


def score_columns(survey: Survey) -> list[str]:
    """The columns the pipeline adds for ``survey``: one mean score per scale."""
    if survey.instrument:
        return [c.key for c in load_instrument(survey.instrument).constructs]
    return [s.name for s in survey.scales]


def safe_name(name: str) -> bool:
    """Whether ``name`` can be typed in a model formula without quoting."""
    return bool(_SAFE.match(name))


# --------------------------------------------------------------------------------------
# Checks against the data
# --------------------------------------------------------------------------------------
def _roles(survey: Survey) -> list[tuple[str, str]]:
    """(key under the survey, column) for every column the survey names."""
    out: list[tuple[str, str]] = []
    if survey.id_column:
        out.append(("id_column", survey.id_column))
    out += [(f"groups[{i}]", g) for i, g in enumerate(survey.groups)]
    out += [(f"covariates[{i}]", c) for i, c in enumerate(survey.covariates)]
    for si, s in enumerate(survey.scales):
        out += [(f"scales[{si}] ({s.name}).items[{i}]", item) for i, item in enumerate(s.items)]
    if survey.instrument and survey.mapping:
        out += [(f"mapping.{item}", col) for item, col in survey.mapping.items()]
    return out


def column_problems(study: Study, survey: Survey, data) -> list[InputError]:
    """Every column the survey names but the data lack, and every unusable group column."""
    import pandas as pd

    key = survey_key(study, survey)
    present = set(map(str, data.columns))
    problems: list[InputError] = []
    for sub, col in _roles(survey):
        if col not in present:
            near = [c for c in data.columns if str(c).lower() == col.lower()]
            hint = (f"did you mean '{near[0]}'?" if near else
                    "columns of the file include " + ", ".join(map(str, list(data.columns)[:10])))
            problems.append(InputError(f"column '{col}' is not in the data file", file=study.file,
                                       key=f"{key}.{sub}", hint=hint))
    n = len(data)
    for i, g in enumerate(survey.groups):
        if g not in present or n == 0:
            continue
        levels = pd.Series(data[g]).nunique(dropna=True)
        if levels <= 1:
            problems.append(InputError(f"the group column '{g}' has {levels} level(s): nothing to compare or "
                                       "aggregate", file=study.file, key=f"{key}.groups[{i}]",
                                       hint="pick the column that says which group each respondent is in"))
        elif levels >= n and n > 1:
            problems.append(InputError(f"the group column '{g}' has a different value for every respondent "
                                       "(it looks like an id)", file=study.file, key=f"{key}.groups[{i}]",
                                       hint="use it as id_column and pick a column shared by members of a group"))
    return problems


def check_columns(study: Study, survey: Survey, data) -> None:
    """Raise the first of ``column_problems`` (the pipeline's check before scoring)."""
    problems = column_problems(study, survey, data)
    if problems:
        raise problems[0]


def observed_answers(data, survey: Survey, meta: Mapping[str, Any] | None = None) -> dict[str, list[float]]:
    """Distinct numeric answers of the items of scales without a stated range, declared
    missing codes left out: what sets such a scale's min and max."""
    import numpy as np
    import pandas as pd

    declared = {float(c) for c in survey.missing_codes if isinstance(c, (int, float))}
    file_codes = (meta or {}).get("missing_codes") or {}
    out: dict[str, list[float]] = {}
    for s in survey.scales:
        if s.min is not None:
            continue
        for item in s.items:
            if item not in data.columns:
                continue
            codes = declared | {float(c) for c in (file_codes.get(item, []) if isinstance(file_codes, Mapping) else [])
                                if isinstance(c, (int, float))}
            values = pd.to_numeric(pd.Series(data[item]), errors="coerce").dropna().unique()
            out[item] = [float(v) for v in np.sort(values) if float(v) not in codes and float(v) > -9]
    return out


@dataclass
class StudyCheck:
    """What ``study check`` found: one row per problem (key, message, hint)."""

    file: str
    problems: list[dict]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"file": self.file, "ok": self.ok, "n_problems": len(self.problems), "problems": self.problems}


def _row(exc: InputError) -> dict:
    return {"key": exc.key, "message": exc.message, "column": exc.column, "hint": exc.hint}


def check_study_file(path: str | Path) -> StudyCheck:
    """Every problem of a study file: its structure, then each survey's data file and columns."""
    from analysis.io import read_data

    name = Path(str(path)).name
    try:
        study = load_study(path)
    except InputError as exc:
        return StudyCheck(name, [_row(exc)])
    problems: list[dict] = []
    for survey in study.surveys:
        key = survey_key(study, survey)
        if survey.instrument:
            try:
                load_instrument(survey.instrument)
            except InputError as exc:
                problems.append({**_row(exc), "key": f"{key}.instrument"})
                continue
        try:
            file = study.data_path(survey)
        except InputError as exc:
            problems.append(_row(exc))
            continue
        if not file.is_file():
            problems.append({"key": f"{key}.file", "message": f"the data file '{survey.file}' is not beside the study "
                             "file", "column": None, "hint": "put it in the study file's folder, or correct the name"})
            continue
        try:
            imported = read_data(file, sheet=survey.sheet)
        except InputError as exc:
            problems.append({**_row(exc), "key": f"{key}.file"})
            continue
        problems += [_row(e) for e in column_problems(study, survey, imported.data)]
        problems += lookup_check(study, survey, imported.data)
    return StudyCheck(name, problems)
