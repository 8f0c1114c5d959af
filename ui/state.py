"""The study a browser session works on, and the cached pipeline behind every page.

A *study* is one source file per survey (public servants, citizens) plus what the user
decided about it: the column mapping, what to do with each validation problem, the
minimum share of answered items for a scale score. That is all that lives in
``st.session_state``; everything derived from it (the read file, the validation report,
the cleaned and scored data) comes from ``prepare``, cached with ``st.cache_data`` on the
file's *content* and those decisions, so two sessions never share mutable state and a
rerun never reads a file twice.

Nothing here computes statistics: it only calls ``analysis.pipeline.prepare``
(read -> map -> validate -> clean -> score), the same function the commands use.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import streamlit as st

from analysis import instruments as instruments_lib
from analysis import privacy
from analysis import pipeline
from analysis import study as studies
from analysis.errors import InputError
from analysis.pipeline import PreparedData

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "sample_data"

# The two surveys of a study: instrument id -> (what we call it on screen, bundled sample file).
SURVEYS: dict[str, tuple[str, str]] = {
    "public_servant": ("Public servants", "public_servants.csv"),
    "citizen": ("Citizens", "citizens.csv"),
}
DEFAULT_MIN_N = 5


def min_n_floor() -> int:
    """The lowest privacy threshold anyone using this server may choose
    (``analysis.privacy.min_n_floor``: ``COPROD_MIN_N_FLOOR``, default 5). A study may raise
    its threshold, never lower it below the floor. A floor that cannot be read stops the page
    with a message for whoever runs the server, instead of silently using another value."""
    try:
        return privacy.min_n_floor()
    except InputError as exc:
        st.error(f"This server's privacy setting is invalid: {exc}. Nothing is shown until it is fixed.",
                 icon=":material/lock:")
        st.stop()
        raise


@dataclass(frozen=True)
class Source:
    """One survey's file and the user's decisions about it (everything needed to redo the pipeline)."""

    instrument_id: str
    filename: str
    content: bytes = field(repr=False)
    sheet: str | None = None
    mapping: dict[str, str] | None = None  # item id -> column; None = automatic
    actions: dict[str, str] = field(default_factory=dict)  # problem code -> action
    min_share: float = 0.5
    is_sample: bool = False
    # A survey of the user's own study (own scales, id and group columns): prepared through
    # ``pipeline.prepare_survey``; ``None`` = the bundled instrument named ``instrument_id``.
    definition: studies.Survey | None = None
    # The survey's lookup of organisation names, types and parents (a study's ``lookup`` key):
    # its spec ({file, column}) and the file's bytes as uploaded or saved with the study.
    lookup: dict[str, str] | None = None
    lookup_content: bytes | None = field(default=None, repr=False)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the file's bytes, computed once per source: the prepared-data cache is keyed
        on it, so a rerun does not hash a national survey's 100+ MB again."""
        return hashlib.sha256(self.content).hexdigest()


Prepared = PreparedData  # what the pipeline made of a Source (cached: treat as read-only)


def sample_source(instrument_id: str) -> Source:
    filename = SURVEYS[instrument_id][1]
    return Source(instrument_id, filename, (SAMPLE_DIR / filename).read_bytes(), is_sample=True)


# Bounded cache (issue 14 item 5): at most MAX_CACHED_STUDIES prepared files are kept in the
# server process, and none longer than CACHE_TTL_SECONDS, so uploads from sessions that have
# ended are freed instead of piling up (32 unbounded entries held 3 GB after three uploads).
#
# A resource cache, not a data cache (issue 15): ``st.cache_data`` hands every caller a fresh
# unpickled copy, which for a 600,000-respondent study cost seconds at each of the dozen calls a
# page makes; ``st.cache_resource`` hands out the one prepared object, which every caller treats
# as read-only (pandas copy-on-write keeps a derived frame from writing back into it). The key is
# the file's digest, not its bytes, so a hit costs nothing.
MAX_CACHED_STUDIES = 4
CACHE_TTL_SECONDS = 3600


def _max_bytes() -> int:
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


@st.cache_resource(show_spinner="Reading, checking and scoring the data...", max_entries=MAX_CACHED_STUDIES,
                   ttl=CACHE_TTL_SECONDS)
def _prepare(instrument_id: str, filename: str, digest: str, sheet: str | None, mapping_json: str,
             actions_json: str, min_share: float, _content: bytes, _progress: pipeline.Progress) -> PreparedData:
    return pipeline.prepare(_content, instrument_id, filename=filename, sheet=sheet,
                            mapping=json.loads(mapping_json), actions=json.loads(actions_json),
                            min_share=min_share, max_bytes=_max_bytes(), progress=_progress)


@st.cache_resource(show_spinner="Reading, checking and scoring the data...", max_entries=MAX_CACHED_STUDIES,
                   ttl=CACHE_TTL_SECONDS)
def _prepare_own(study_yaml: str, name: str, digest: str, _content: bytes,
                 _progress: pipeline.Progress) -> PreparedData:
    study = studies.parse_study(study_yaml, file="study file")
    return pipeline.prepare_survey(study, name, content=_content, max_bytes=_max_bytes(), progress=_progress)


def _no_progress(step: str) -> None:
    """Pages that only read the prepared study report no steps (the spinner says it)."""


def prepare(source: Source, progress: pipeline.Progress = _no_progress) -> Prepared:
    """Run the pipeline on ``source`` (cached on its digest + decisions; the result is shared
    and read-only). ``progress`` hears each step when the pipeline runs (the Data page's
    status box for an upload). Raises ``InputError``."""
    if source.definition is not None:
        survey = source_survey(source)
        return _prepare_own(studies.to_yaml(studies.Study(title="study", surveys=(survey,))), survey.name,
                            source.digest, source.content, progress)
    return _prepare(source.instrument_id, source.filename, source.digest, source.sheet,
                    json.dumps(source.mapping, sort_keys=True), json.dumps(source.actions, sort_keys=True),
                    float(source.min_share), source.content, progress)


def use_app_navigation() -> None:
    """Make sure app.py's navigation is in charge, even for a shared link opened first.

    Streamlit treats a ``pages/`` folder next to app.py as old-style navigation until some
    session has run app.py's ``st.navigation`` in this server process; a colleague who opens
    ``/readiness?org=...`` on a freshly started server would otherwise get the page without
    the dashboard's menu and layout. Flip that process-wide switch once and rerun: the rerun
    goes through app.py, which routes to the same page with the same query parameters.
    Every page calls this before its first widget, so no widget consumes a query parameter
    in the run that is thrown away.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def sources() -> dict[str, Source]:
    """The session's study; the bundled sample on first start so no screen is ever empty."""
    if "study_sources" not in st.session_state:
        st.session_state["study_sources"] = {
            iid: sample_source(iid) for iid in SURVEYS if (SAMPLE_DIR / SURVEYS[iid][1]).exists()}
    return st.session_state["study_sources"]


def surveys() -> list[str]:
    """The names of the session's surveys, in the study's order (the bundled sample: public
    servants, citizens; an opened study: its own surveys)."""
    return list(sources())


def set_source(source: Source, progress: pipeline.Progress = _no_progress) -> Prepared:
    """Replace one survey's source, but only if the new one goes through the pipeline.

    On failure the ``InputError`` propagates and the study loaded before stays as it was.
    """
    prepared = prepare(source, progress)
    sources()[source.instrument_id] = source
    return prepared


def update_source(instrument_id: str, **changes) -> Prepared:
    """Change a decision (mapping, actions, min_share, sheet) of the current source."""
    return set_source(replace(sources()[instrument_id], **changes))


def dataset(instrument_id: str) -> Prepared | None:
    """The prepared data of one survey, or ``None`` when none is loaded or it cannot be read."""
    source = sources().get(instrument_id)
    if source is None:
        return None
    try:
        return prepare(source)
    except InputError:
        return None



def data_key(instrument_id: str) -> str:
    """A short key naming the prepared data of one survey: the file's digest and every decision
    that shapes the data (mapping, validation actions, minimum share, sheet, study definition).

    Page caches of a national survey take it in place of the 600,000-row frame itself, passing
    the frame as an unhashed ``_data`` argument: equal keys mean equal data, and Streamlit's
    hash of a large frame (a sample of its rows) would not be exact."""
    source = sources().get(instrument_id)
    if source is None:
        return ""
    definition = studies.to_yaml(studies.Study(title="study", surveys=(source_survey(source),))) \
        if source.definition is not None else ""
    parts = [instrument_id, source.digest, json.dumps(source.mapping, sort_keys=True),
             json.dumps(source.actions, sort_keys=True), repr(float(source.min_share)), repr(source.sheet), definition]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

def instrument(instrument_id: str):
    """The instrument of a survey: the bundled one, or the one its study definition describes."""
    source = sources().get(instrument_id)
    if source is not None and source.definition is not None:
        prepared = dataset(instrument_id)
        return prepared.instrument if prepared is not None else studies.survey_instrument(source.definition)
    return instruments_lib.load_instrument(instrument_id)


def min_n() -> int:
    """The study's privacy threshold: no score is shown for a group with fewer respondents."""
    return max(min_n_floor(), int(st.session_state.get("study_min_n", DEFAULT_MIN_N)))


def set_min_n(value: int) -> None:
    st.session_state["study_min_n"] = max(min_n_floor(), int(value))


def survey_label(instrument_id: str) -> str:
    source = sources().get(instrument_id)
    if source is not None and source.definition is not None:
        return source.definition.title or source.definition.name
    return SURVEYS.get(instrument_id, (instrument_id, ""))[0]


def source_survey(source: Source) -> studies.Survey:
    """``source`` as a survey of a study file: its own definition, or the bundled instrument
    with the user's mapping, validation choices and minimum share."""
    if source.definition is not None:
        return replace(source.definition, file=source.filename, sheet=source.sheet, actions=dict(source.actions),
                       min_share=float(source.min_share))
    respondent = instrument(source.instrument_id).respondent
    return studies.Survey(name=source.instrument_id, file=source.filename, sheet=source.sheet,
                          instrument=source.instrument_id, mapping=dict(source.mapping) if source.mapping else None,
                          respondent=respondent if respondent in studies.RESPONDENTS else None,
                          title=survey_label(source.instrument_id), min_share=float(source.min_share),
                          actions=dict(source.actions), lookup=dict(source.lookup) if source.lookup else None)


def current_study(title: str = "Study") -> studies.Study:
    """The session's study (every survey loaded, the privacy threshold) as a study file's content:
    what the Data page offers for download and what ``python -m analysis ... STUDY.yaml`` reads."""
    return studies.Study(title=title, surveys=tuple(source_survey(s) for s in sources().values()), min_n=min_n())


def open_study(study: studies.Study, files: dict[str, bytes]) -> None:
    """Replace the session's study by ``study`` with the data ``files`` (name -> bytes) uploaded
    beside it. Every survey must go through the pipeline first: on any ``InputError`` (a file
    missing, a column not in the file) the study loaded before stays as it was."""
    new: dict[str, Source] = {}
    for survey in study.surveys:
        key = studies.survey_key(study, survey)
        if not survey.file or survey.file not in files:
            raise InputError(f"the data file '{survey.file}' was not uploaded with the study file",
                             file=study.file, key=f"{key}.file",
                             hint="upload the study file together with its data files")
        builtin = (survey.instrument == survey.name and survey.instrument in SURVEYS and not survey.groups
                   and not survey.id_column and not survey.missing_codes)
        lookup_name = (survey.lookup or {}).get("file")
        if lookup_name and lookup_name not in files:
            raise InputError(f"the lookup file '{lookup_name}' was not uploaded with the study file",
                             file=study.file, key=f"{key}.lookup.file",
                             hint="upload it together with the study file and its data files")
        source = Source(survey.name, survey.file, files[survey.file], survey.sheet,
                        dict(survey.mapping) if (builtin and survey.mapping) else None, dict(survey.actions),
                        float(survey.min_share), definition=None if builtin else survey,
                        lookup=dict(survey.lookup) if survey.lookup else None,
                        lookup_content=files[lookup_name] if lookup_name else None)
        prepare(source)  # raises before anything is replaced
        new[survey.name] = source
    st.session_state["study_sources"] = new
    if study.min_n is not None:
        set_min_n(int(study.min_n))


def study_files() -> dict[str, bytes]:
    """Every file of the session's study by name: each survey's data file and lookup file, as
    loaded (what the study .zip and a saved study hold beside the study file)."""
    files: dict[str, bytes] = {}
    for s in sources().values():
        files[s.filename] = s.content
        if s.lookup and s.lookup_content is not None:
            files[s.lookup["file"]] = s.lookup_content
    return files


def replace_survey(old_key: str, source: Source) -> Prepared:
    """Put ``source`` in place of the survey ``old_key`` (same position in the study; its key is
    the source's own name), but only if it goes through the pipeline; otherwise ``InputError``
    and nothing changes."""
    prepared = prepare(source)
    current = sources()
    if source.instrument_id != old_key and source.instrument_id in current:
        raise InputError(f"the study already has a survey called '{source.instrument_id}'",
                         key="name", hint="give this survey another name")
    st.session_state["study_sources"] = {(source.instrument_id if k == old_key else k): (source if k == old_key else v)
                                         for k, v in current.items()}
    return prepared


ROLE_LABELS = {"public_servant": "public servant", "citizen": "citizen"}


def role_survey(instrument_id: str) -> str:
    """The key of the survey that plays the part of ``instrument_id`` (public servants or
    citizens) on the topic screens: the survey of that name, else the first own survey whose
    study definition says ``respondent: public servant`` / ``citizen``; ``instrument_id`` itself
    when none does (so ``dataset`` of it is None)."""
    current = sources()
    if instrument_id in current:
        return instrument_id
    role = ROLE_LABELS.get(instrument_id)
    return next((key for key, s in current.items() if s.definition is not None and s.definition.respondent == role),
                instrument_id)
