"""The Data page's "describe your own survey" panel: column roles and scales, by pointing and clicking.

A researcher whose questionnaire is not one of the bundled instruments picks, from the columns of
the uploaded file, the respondent id, the grouping columns (innermost first) and the covariates,
types the declared missing codes, and adds scales one at a time (name, items, reverse-keyed items,
response range). "Use this definition" turns the choices into a survey of a study file
(``analysis.study.study_from_dict``, the same checks and messages as a study file's) and prepares
it through the pipeline (``ui.state.replace_survey``); a definition that fails leaves the survey
as it was. The draft lives in the session until then, so nothing typed is lost on a rerun.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from analysis import study as studies
from analysis.errors import InputError
from ui import state
from ui.widgets import show_error

ID_NAMES = re.compile(r"^(id|respondent(_?id)?|resp_?id|response_?id|person(_?id)?|pid|case(_?id)?"
                      r"|participant(_?id)?)$", re.IGNORECASE)
GROUP_NAMES = re.compile(r"(grp|group|org|team|company|unit|department|dept|municip|muni|school|class|ward|office)",
                         re.IGNORECASE)


def guess_roles(raw: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The obvious respondent id (a column named like one whose values are all different) and
    grouping columns (named like a group, with between 2 levels and half as many as rows)."""
    n = len(raw)
    id_column = next((str(c) for c in raw.columns if ID_NAMES.match(str(c)) and raw[c].nunique() == n), None)
    groups = [str(c) for c in raw.columns if str(c) != id_column and GROUP_NAMES.search(str(c))
              and 2 <= raw[c].nunique() <= max(2, n // 2)]
    return id_column, groups


def start_definition(survey_key: str, filename: str, content: bytes) -> state.Source:
    """A new own-survey source for an uploaded file: roles guessed, no scales yet."""
    blank = studies.Survey(name=survey_key, file=filename)
    raw = state.prepare(state.Source(survey_key, filename, content, definition=blank)).raw
    id_column, groups = guess_roles(raw)
    return state.Source(survey_key, filename, content,
                        definition=replace(blank, id_column=id_column, groups=tuple(groups)))


def _draft_key(survey_key: str) -> str:
    return f"own_draft_{survey_key}"


def _draft(survey_key: str, definition: studies.Survey) -> dict[str, Any]:
    key = _draft_key(survey_key)
    if key not in st.session_state:
        st.session_state[key] = {"scales": [
            {"name": s.name, "items": list(s.items), "reverse": list(s.reverse), "min": s.min, "max": s.max}
            for s in definition.scales]}
    return st.session_state[key]


def _column_table(raw: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """One row per column: its question text (Qualtrics/LimeSurvey/SPSS label), value labels,
    distinct answers and range, so the researcher sees what each column holds."""
    texts = meta.get("variable_labels") or {}
    value_labels = meta.get("value_labels") or {}
    rows = []
    for col in raw.columns:
        values = pd.to_numeric(raw[col], errors="coerce")
        labels = value_labels.get(col) if isinstance(value_labels, dict) else None
        rows.append({"column": str(col),
                     "question text": texts.get(col, "") if isinstance(texts, dict) else "",
                     "value labels": "; ".join(f"{k} = {v}" for k, v in list(labels.items())[:6]) if labels else "",
                     "distinct values": int(raw[col].nunique()),
                     "lowest": values.min() if values.notna().any() else None,
                     "highest": values.max() if values.notna().any() else None})
    return pd.DataFrame(rows)


def _add_scale(survey_key: str) -> None:
    """The "Add scale" button: the scale typed in the small form joins the draft."""
    get = st.session_state.get
    name = (get(f"own_scale_name_{survey_key}") or "").strip()
    items = list(get(f"own_scale_items_{survey_key}") or [])
    reverse = [r for r in (get(f"own_scale_reverse_{survey_key}") or []) if r in items]
    lo, hi = get(f"own_scale_min_{survey_key}"), get(f"own_scale_max_{survey_key}")
    draft = st.session_state[_draft_key(survey_key)]
    try:
        studies.study_from_dict({"title": "draft", "surveys": [{"name": survey_key, "scales": [
            *draft["scales"], {"name": name, "items": items, "reverse": reverse, "min": lo, "max": hi}]}]},
            file="the scale")
    except InputError as exc:
        st.session_state[f"own_scale_error_{survey_key}"] = str(exc)
        return
    draft["scales"].append({"name": name, "items": items, "reverse": reverse, "min": lo, "max": hi})
    st.session_state.pop(f"own_scale_error_{survey_key}", None)
    for part in ("name", "items", "reverse"):
        st.session_state.pop(f"own_scale_{part}_{survey_key}", None)


def _apply(survey_key: str, source: state.Source) -> None:
    """The "Use this definition" button (a callback, so the survey picker can follow a new name)."""
    get = st.session_state.get
    draft = st.session_state[_draft_key(survey_key)]
    codes_text = get(f"own_missing_{survey_key}") or ""
    try:
        codes = [float(c) if "." in c else int(c) for c in re.split(r"[,;\s]+", codes_text.strip()) if c]
    except ValueError:
        st.session_state[f"own_error_{survey_key}"] = (f"missing codes: '{codes_text}' is not a list of numbers "
                                                      "(write them as -99, -9)")
        return
    name = (get(f"own_name_{survey_key}") or survey_key).strip()
    spec = {"name": name, "file": source.filename, "id_column": get(f"own_id_{survey_key}") or None,
            "groups": list(get(f"own_groups_{survey_key}") or []),
            "covariates": list(get(f"own_covariates_{survey_key}") or []), "missing_codes": codes,
            "respondent": get(f"own_respondent_{survey_key}") or None,
            "scales": [{k: v for k, v in s.items() if v is not None and v != []} for s in draft["scales"]]}
    try:
        survey = studies.study_from_dict({"title": "study", "surveys": [spec]}, file="your definition").surveys[0]
        if source.definition is not None and source.definition.sheet:
            survey = replace(survey, sheet=source.definition.sheet)
        state.replace_survey(survey_key, replace(source, instrument_id=name, definition=survey))
    except InputError as exc:
        st.session_state[f"own_error_{survey_key}"] = str(exc)
        return
    st.session_state.pop(f"own_error_{survey_key}", None)
    if name != survey_key:
        st.session_state[_draft_key(name)] = st.session_state.pop(_draft_key(survey_key))
        st.session_state["data_survey"] = name
    groups = ", ".join(survey.groups) or "none"
    st.session_state["own_applied_note"] = (f"Survey “{name}” now uses your definition: "
                                            f"{len(survey.scales)} scale(s), groups {groups}.")


def definition_panel(survey_key: str, source: state.Source, prepared) -> None:
    """The panel itself (shown instead of the instrument mapping for an own survey)."""
    definition = source.definition
    assert definition is not None
    raw = prepared.raw
    columns = [str(c) for c in raw.columns]
    draft = _draft(survey_key, definition)
    st.caption("Tell the dashboard what the columns of your file are. Every screen and command then uses this: "
               "scales become columns of mean scores, groups become the levels of agreement, ICC and models.")
    with st.expander("Columns in your file", expanded=False):
        st.dataframe(_column_table(raw, prepared.meta), hide_index=True)
    left, right = st.columns(2)
    left.text_input("Survey name (used in commands as --survey NAME)", value=definition.name,
                    key=f"own_name_{survey_key}")
    left.selectbox("Respondent id column", [None, *columns], key=f"own_id_{survey_key}",
                   index=([None, *columns].index(definition.id_column) if definition.id_column in columns else 0),
                   format_func=lambda c: "(none)" if c is None else c)
    right.multiselect("Grouping columns, innermost first (team, organisation, municipality...)", columns,
                      default=[g for g in definition.groups if g in columns], key=f"own_groups_{survey_key}")
    right.multiselect("Covariates and demographics", columns,
                      default=[c for c in definition.covariates if c in columns], key=f"own_covariates_{survey_key}")
    right.selectbox("Respondents (which research-topic screens read this survey)", [None, *studies.RESPONDENTS],
                    index=([None, *studies.RESPONDENTS].index(definition.respondent)
                           if definition.respondent in studies.RESPONDENTS else 0),
                    key=f"own_respondent_{survey_key}",
                    format_func=lambda r: "others (Measurement and Models only)" if r is None else f"{r}s")
    left.text_input("Missing codes (on top of those the file declares)",
                    value=", ".join(str(c) for c in definition.missing_codes), key=f"own_missing_{survey_key}",
                    placeholder="-99, -9")

    st.markdown("**Scales**")
    if draft["scales"]:
        st.dataframe(pd.DataFrame([{"scale": s["name"], "items": ", ".join(s["items"]),
                                    "reverse-keyed": ", ".join(s["reverse"]),
                                    "range": f"{s['min']:g}-{s['max']:g}" if s["min"] is not None else "from the data"}
                                   for s in draft["scales"]]), hide_index=True)
        remove = st.selectbox("Remove a scale", [None] + [s["name"] for s in draft["scales"]],
                              key=f"own_remove_{survey_key}", format_func=lambda s: "(keep all)" if s is None else s)
        if remove is not None and st.button("Remove", key=f"own_remove_btn_{survey_key}"):
            draft["scales"] = [s for s in draft["scales"] if s["name"] != remove]
            st.rerun()
    else:
        st.caption("No scale yet: add one below.")
    with st.container(border=True):
        a, b = st.columns([1, 2])
        a.text_input("Scale name", key=f"own_scale_name_{survey_key}", placeholder="LEAD")
        taken = {i for s in draft["scales"] for i in s["items"]}
        b.multiselect("Items", [c for c in columns if c not in taken], key=f"own_scale_items_{survey_key}")
        chosen = st.session_state.get(f"own_scale_items_{survey_key}") or []
        c, d, e = st.columns([2, 1, 1])
        c.multiselect("Reverse-keyed items", chosen, key=f"own_scale_reverse_{survey_key}")
        d.number_input("Lowest answer", value=None, key=f"own_scale_min_{survey_key}", placeholder="from the data")
        e.number_input("Highest answer", value=None, key=f"own_scale_max_{survey_key}", placeholder="from the data")
        st.button("Add scale", key=f"own_add_scale_{survey_key}", on_click=_add_scale, args=(survey_key,),
                  icon=":material/add:")
        if st.session_state.get(f"own_scale_error_{survey_key}"):
            st.error(st.session_state[f"own_scale_error_{survey_key}"], icon=":material/error:")
    st.button("Use this definition", key=f"own_apply_{survey_key}", on_click=_apply, args=(survey_key, source),
              type="primary")
    if st.session_state.get(f"own_error_{survey_key}"):
        show_error(InputError(st.session_state[f"own_error_{survey_key}"]))
        st.caption("The survey is unchanged.")
    if st.session_state.get("own_applied_note"):
        st.success(st.session_state.pop("own_applied_note"))
