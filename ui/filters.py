"""The filter bar shared by the three research-topic screens.

One multiselect per filter (organisation, municipality, gender, age band, education, role,
organisation type, urban/rural), each bound to the URL (``bind="query-params"``) under a
short key with the page's prefix (``s1_gender``, ``s3_area``...), so a copied address
reopens the same view. The URL holds the labels shown on screen (``?s1_gender=Woman``).

Every survey on the page gets the filters whose column it has; each filtered view goes
through ``analysis.topics.apply_filters`` (``analysis.privacy.check_filter``): a view with
fewer than ``min_n`` respondents, or one that differs from a wider view by fewer than
``min_n`` people, is refused, and the page says so in an info box instead of showing it.
No statistics here: only widgets, label <-> code mapping and the privacy call.

At national scale (600,000 respondents) nothing here walks the whole survey again at a
rerun: the survey with its age bands, its disclosure partition (which does not depend on the
filters) and each filtered view are held in ``st.cache_resource`` under the survey's data key
(``ui.state.data_key``), so a rerun costs nothing and a filter change only selects the rows.
Each view has a key of its own (``FilterView.key``: the data key, threshold and filters) that
the pages' ``st.cache_data`` functions take in place of the view's rows (passed unhashed), so
they neither hash a sample of 600,000 rows nor confuse two views that agree on that sample.
Everything cached is shared and read-only: pages never change a view in place.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from analysis import topics
from analysis.errors import InputError
from ui import state

# field -> (label on screen, column in the data). "age_band" is derived from "age".
FIELDS: dict[str, tuple[str, str]] = {
    "org": ("Organisation", "org_id"),
    "muni": ("Municipality", "municipality_id"),
    "gender": ("Gender", "gender"),
    "age": ("Age band", "age_band"),
    "edu": ("Education", "education"),
    "role": ("Role", "role"),
    "orgtype": ("Organisation type", "org_type"),
    "area": ("Urban / rural", "area"),
}


from analysis import derived  # noqa: E402
from analysis import privacy  # noqa: E402

CACHE_TTL_SECONDS = 3600
MAX_CACHED_VIEWS = 8  # a filtered view of a national survey holds its rows (up to hundreds of MB)


@st.cache_resource(show_spinner=False, max_entries=8, ttl=CACHE_TTL_SECONDS)
def _with_age_band(key: str, _data: pd.DataFrame) -> pd.DataFrame:
    return derived.with_age_band(_data)


def with_age_band(data: pd.DataFrame, key: str | None = None) -> pd.DataFrame:
    """``analysis.derived.with_age_band``; with ``key`` (the survey's ``ui.state.data_key``) made
    once and then shared, so a rerun gets the same frame without deriving the bands again."""
    if not key:
        return derived.with_age_band(data)
    return _with_age_band(key, data)


@st.cache_resource(show_spinner=False, max_entries=8, ttl=CACHE_TTL_SECONDS)
def survey_partition(key: str, iid: str, min_n: int, _data: pd.DataFrame) -> privacy.Partition:
    """The disclosure partition (``privacy.partition_for``) of the survey ``iid`` whose rows
    ``key`` names (``ui.state.data_key``): the same for every filter, made once and shared by
    the filter bar and the analyses that take a ``partition=``."""
    return privacy.partition_for(_data, state.instrument(iid), min_n)


@st.cache_resource(show_spinner="Applying the filters...", max_entries=MAX_CACHED_VIEWS, ttl=CACHE_TTL_SECONDS)
def _filtered(key: str, iid: str, min_n: int, filters_key: str, _data: pd.DataFrame,
              _filters: dict) -> tuple[pd.DataFrame | None, str | None]:
    """``topics.apply_filters`` on the survey's cached partition: the view, or why it is refused."""
    try:
        view = topics.apply_filters(_data, _filters, min_n, instrument=state.instrument(iid),
                                    partition=survey_partition(key, iid, min_n, _data))
    except InputError as exc:
        return None, str(exc)
    return view, None


@st.cache_data(show_spinner=False, max_entries=64, ttl=CACHE_TTL_SECONDS)
def _column_options(key: str, iid: str, column: str, _data: pd.DataFrame) -> list[str]:
    return _options(column, {iid: _data})


def _filters_key(filters: dict) -> str:
    return json.dumps({c: [repr(v) for v in values] for c, values in filters.items()}, sort_keys=True)


def _levels(instrument, column: str) -> dict | None:
    for demo in getattr(instrument, "demographics", []) or []:
        if demo.id == column and demo.levels:
            return {int(k): str(v) for k, v in demo.levels.items()}
    return None


def _id_label(value) -> str:
    """Ids read as floats (1.0) are shown and put in the URL as whole numbers (1)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else str(value)


def _options(column: str, frames: dict[str, pd.DataFrame]) -> list[str]:
    """The labels a user can pick for ``column``, over every survey that has it."""
    labels: list[str] = []
    for iid, data in frames.items():
        if column not in data.columns:
            continue
        levels = _levels(state.instrument(iid), column)
        if levels:
            labels += list(levels.values())
        elif column == "age_band":
            labels += [str(v) for v in topics.age_bands(pd.Series(dtype=float)).cat.categories
                       if (data["age_band"] == str(v)).any()]
        else:
            values = data[column].dropna().unique().tolist()
            numeric = pd.to_numeric(pd.Series(values), errors="coerce")
            order = sorted(values, key=float) if numeric.notna().all() else sorted(values, key=str)
            labels += [_id_label(v) for v in order]
    return list(dict.fromkeys(labels))


def _codes(instrument, data: pd.DataFrame, column: str, chosen: list[str]) -> list:
    """The values in ``data[column]`` that the labels ``chosen`` stand for."""
    levels = _levels(instrument, column)
    if levels:
        return [code for code, label in levels.items() if label in chosen]
    if column == "age_band":
        return list(chosen)
    values = data[column].dropna().unique().tolist()
    return [v for v in values if _id_label(v) in chosen]


@dataclass
class FilterView:
    """What the filter bar decided: per survey the rows to use (``None`` when refused or not
    loaded), the filters applied ({column: values}) and, when refused, the reason."""
    data: dict[str, pd.DataFrame | None]
    filters: dict[str, dict] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    chosen: dict[str, list[str]] = field(default_factory=dict)  # field -> labels picked
    keys: dict[str, str] = field(default_factory=dict)  # survey -> key of its view (``key``)

    @property
    def active(self) -> bool:
        return any(self.chosen.values())

    def describe(self) -> str:
        """'Gender: Woman; Age band: 18-29' or 'no filter'."""
        parts = [f"{FIELDS[f][0]}: {', '.join(v)}" for f, v in self.chosen.items() if v]
        return "; ".join(parts) if parts else "no filter"

    def get(self, instrument_id: str) -> pd.DataFrame | None:
        return self.data.get(instrument_id)

    def key(self, instrument_id: str) -> str:
        """A key naming the view's rows of one survey (its data key, threshold and filters), for
        the pages' caches to take in place of the rows themselves."""
        return self.keys.get(instrument_id, "")


def filter_bar(prefix: str, frames: dict[str, pd.DataFrame | None], fields: list[str], *,
               min_n: int | None = None) -> FilterView:
    """Draw the filter bar and return the filtered (privacy-checked) data of each survey.

    ``prefix`` makes the widget keys (and URL parameters) unique per page, e.g. ``s1``;
    ``frames`` maps instrument id -> prepared data (``None`` when not loaded); ``fields``
    lists the filters to offer (keys of ``FIELDS``), only those some survey has are shown.
    """
    min_n = state.min_n() if min_n is None else min_n
    data_keys = {iid: state.data_key(iid) for iid, df in frames.items() if df is not None}
    loaded = {iid: with_age_band(df, data_keys[iid]) for iid, df in frames.items() if df is not None}
    offered = [f for f in fields if any(FIELDS[f][1] in df.columns for df in loaded.values())]
    chosen: dict[str, list[str]] = {}
    with st.container(border=True):
        st.markdown("**Filters** · apply to every chart and table on this screen; the address bar keeps "
                    "them, so a copied link opens the same view.")
        columns = st.columns(min(4, max(1, len(offered))))
        for i, name in enumerate(offered):
            label, column = FIELDS[name]
            options = list(dict.fromkeys(
                label for iid, df in loaded.items() if column in df.columns
                for label in (_column_options(data_keys[iid], iid, column, df) if data_keys[iid]
                              else _options(column, {iid: df}))))
            with columns[i % len(columns)]:
                chosen[name] = st.multiselect(label, options, key=f"{prefix}_{name}", bind="query-params",
                                              help="Leave empty for everyone.")
    view = FilterView(data={iid: None for iid in frames}, chosen=chosen)
    for iid, data in loaded.items():
        instrument = state.instrument(iid)
        filters = {FIELDS[f][1]: _codes(instrument, data, FIELDS[f][1], labels)
                   for f, labels in chosen.items() if labels and FIELDS[f][1] in data.columns}
        view.filters[iid] = filters
        if data_keys[iid]:
            fkey = _filters_key(filters)
            view.data[iid], refused = _filtered(data_keys[iid], iid, min_n, fkey, data, filters)
            view.keys[iid] = f"{data_keys[iid]}:{min_n}:{fkey}"
            if refused is not None:
                view.refused[iid] = refused
            continue
        try:
            view.data[iid] = topics.apply_filters(data, filters, min_n, instrument=instrument)
        except InputError as exc:
            view.refused[iid] = str(exc)
        else:  # no data key (not a session's survey): the view is named by all its rows' values
            rows = pd.util.hash_pandas_object(view.data[iid]).to_numpy().tobytes()
            view.keys[iid] = "rows:" + hashlib.sha256(rows).hexdigest()
    for iid, message in view.refused.items():
        if message.startswith("no respondents match"):
            st.info(f"**{state.survey_label(iid)}:** {message}.", icon=":material/filter_alt_off:")
            continue
        st.info(f"**{state.survey_label(iid)}: this filter combination is not shown, to protect privacy.** "
                f"{message}. Results are built only from groups of at least {min_n} respondents that lie "
                "wholly inside the filters, so that no comparison of two views can single anyone out.",
                icon=":material/lock:")
    ignored = [FIELDS[f][0] for f, labels in chosen.items() if labels
               and not all(FIELDS[f][1] in df.columns for df in loaded.values())]
    if ignored and len(loaded) > 1:
        st.caption(f"{', '.join(ignored)}: asked in one survey only, so applied to that survey only.")
    counts = [f"{state.survey_label(iid)}: {len(df)} respondents in view" for iid, df in view.data.items()
              if df is not None]
    if counts:
        st.caption(" · ".join(counts) + (f" (filters: {view.describe()})" if view.active else "")
                   + (". Respondents in groups too small to show on their own are counted only where the "
                      "view keeps their whole group." if view.active else ""))
    return view
