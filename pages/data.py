"""Load and check data: upload, preview, column mapping, validation, codebook, download, save."""
from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import study as studies
from analysis.errors import InputError
from analysis.io import write_data
from analysis.mapping import mapping_table
from store import slugify
from ui import access, own_survey, state
from ui.widgets import download_buttons, guarded, plain, show_error

access.enter(owner_only="The Data page")  # before any widget; respondent rows, the threshold, saved studies


def _study_zip(study: studies.Study, files: dict[str, bytes]) -> bytes:
    """study.yaml and every survey's data file, as the user loaded it, in one .zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("study.yaml", studies.to_yaml(study))
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _open_bundle(files: dict[str, bytes]) -> str:
    """Open a study from uploaded files (a .zip, or a .yaml with its data files); its title."""
    for name in [n for n in files if n.lower().endswith(".zip")]:
        try:
            with zipfile.ZipFile(io.BytesIO(files.pop(name))) as archive:
                files.update({Path(m).name: archive.read(m) for m in archive.namelist() if not m.endswith("/")})
        except zipfile.BadZipFile:
            raise InputError("this .zip cannot be opened", file=name,
                             hint="upload the study.zip the Data page gave, or the study .yaml and its data files") from None
    texts = [n for n in files if n.lower().endswith((".yaml", ".yml"))]
    if len(texts) != 1:
        raise InputError("upload exactly one study file (.yaml)" if texts else "no study file (.yaml) among the files",
                         hint="the study file names each survey's data file under file:")
    study = studies.parse_study(files[texts[0]], file=texts[0])
    state.open_study(study, files)
    return study.title

st.title("Load and check data")
limit_mb = int(st.get_option("server.maxUploadSize"))

survey = st.segmented_control(
    "Survey", state.surveys() or list(state.SURVEYS), format_func=state.survey_label,
    default=(state.surveys() or list(state.SURVEYS))[0],
    key="data_survey", bind="query-params", required=True)
instrument = state.instrument(survey)
source = state.sources().get(survey)

# ---------------------------------------------------------------- upload
with st.container(border=True):
    st.subheader("1 · File")
    st.caption(f"CSV/TSV, Excel (.xlsx), SPSS (.sav), Stata (.dta), Parquet, Qualtrics or LimeSurvey CSV export. "
               f"Files up to {limit_mb} MB (set by `server.maxUploadSize` in `.streamlit/config.toml`); for a "
               "national survey, Parquet is several times smaller than CSV "
               "(`python -m analysis validate FILE --instrument ID --export FILE.parquet`).")
    # any file type is accepted here so that an unsupported one (an old .xls, a .zip) gets the
    # importer's message on the page instead of only a tooltip in the browser
    own = st.toggle("My own questionnaire: I describe its columns and scales myself",
                    value=bool(source is not None and source.definition is not None), key=f"own_{survey}",
                    help="Off: the file is matched to the bundled instrument's items. On: you choose the id, "
                         "group and covariate columns and define your scales (section 2).")
    upload = st.file_uploader("Upload a survey file", key=f"upload_{survey}",
                              help="CSV/TSV, .xlsx, .sav, .dta, Qualtrics or LimeSurvey CSV")
    if upload is not None and st.session_state.get(f"loaded_{survey}") != upload.file_id:
        st.session_state[f"loaded_{survey}"] = upload.file_id
        try:
            content = upload.getvalue()
            if len(content) > limit_mb * 1024 * 1024:
                raise InputError(f"the file is {len(content) / 1e6:.1f} MB, over the {limit_mb} MB limit",
                                 file=upload.name, hint="split it or export only the survey columns")
            with st.status(f"Reading, checking and scoring `{upload.name}` ({len(content) / 1e6:,.1f} MB)...",
                           expanded=False) as status:
                started = time.perf_counter()

                def step(text: str) -> None:  # the pipeline's steps, for a large file's long wait
                    status.update(label=f"{text}... ({time.perf_counter() - started:.0f} s)")

                try:
                    state.set_source(own_survey.start_definition(survey, upload.name, content) if own
                                     else state.Source(survey, upload.name, content), progress=step)
                except InputError:
                    status.update(label=f"`{upload.name}` could not be loaded", state="error")
                    raise
                status.update(label=f"Read, checked and scored in {time.perf_counter() - started:.1f} s",
                              state="complete")
            st.success(f"Loaded `{upload.name}`.")
        except InputError as exc:
            show_error(exc)
            st.caption("The study loaded before is unchanged.")
    source = state.sources().get(survey)
    if source is not None:
        cols = st.columns([3, 1])
        cols[0].write(f"Current file: **`{source.filename}`**" + (" (bundled sample)" if source.is_sample else ""))
        if not source.is_sample and cols[1].button("Back to the sample", key=f"reset_{survey}"):
            state.set_source(state.sample_source(survey))
            st.rerun()

if source is None:
    st.info("No file loaded for this survey yet.")
    st.stop()

try:
    prepared = state.prepare(source)
except InputError as exc:  # a saved study whose file no longer reads
    show_error(exc)
    st.stop()

sheets = prepared.meta.get("sheets") or []
if len(sheets) > 1:
    sheet = st.selectbox("Sheet", sheets, index=sheets.index(source.sheet) if source.sheet in sheets else 0,
                         key=f"sheet_{survey}")
    if sheet != (source.sheet or sheets[0]):
        with guarded("reading that sheet"):
            state.update_source(survey, sheet=sheet, mapping=None)
            st.rerun()
for note in prepared.meta.get("notes", []):
    st.caption(f"• {note}")

with st.expander(f"Preview: {len(prepared.raw):,} rows × {prepared.raw.shape[1]:,} columns", expanded=False):
    st.dataframe(prepared.raw.head(50), hide_index=True)

# ---------------------------------------------------------------- mapping, or the own survey's definition
if source.definition is not None:
    with st.container(border=True):
        st.subheader("2 · Your survey: column roles and scales")
        own_survey.definition_panel(survey, source, prepared)
else:
    with st.container(border=True):
        st.subheader("2 · Columns → instrument items")
        table = mapping_table(list(prepared.raw.columns), instrument, prepared.mapping)
        matched = int(table["column"].notna().sum())
        st.caption(f"{matched} of {len(table)} items of the *{instrument.title}* instrument found a column. "
                   "Change the column of any item below and press *Apply mapping*.")
        options = [None] + [str(c) for c in prepared.raw.columns]
        edited = st.data_editor(
            table, hide_index=True, height=320, key=f"mapping_editor_{survey}",
            disabled=[c for c in table.columns if c != "column"],
            column_config={"column": st.column_config.SelectboxColumn("column in your file", options=options)})
        if st.button("Apply mapping", key=f"apply_mapping_{survey}"):
            with guarded("applying the mapping"):
                new_mapping = {row["item"]: row["column"] for _, row in edited.iterrows() if row["column"]}
                state.update_source(survey, mapping=new_mapping)
                st.rerun()

# ---------------------------------------------------------------- validation
with st.container(border=True):
    st.subheader("3 · Checks")
    report = prepared.report
    if not report.problems:
        st.success("No problems found.")
    else:
        st.caption("Each row is one kind of problem: where, how often, example rows (row 1 is the first "
                   "respondent, below the header) and what we suggest. Choose what to do and press *Apply choices*.")
        st.dataframe(report.to_frame(), hide_index=True)
        choices = {}
        labels = {"set_missing": "set those answers to missing", "drop_respondents": "drop those respondents",
                  "keep": "keep as they are"}
        codes = sorted({p.code for p in report.problems if p.actions})
        for code in codes:
            problem = next(p for p in report.problems if p.code == code)
            allowed = problem.actions
            current = source.actions.get(code, problem.default_action)
            choices[code] = st.selectbox(f"{code.replace('_', ' ').lower()}", allowed,
                                         index=allowed.index(current) if current in allowed else 0,
                                         format_func=lambda a: labels.get(a, a), key=f"action_{survey}_{code}")
        if codes and st.button("Apply choices", key=f"apply_actions_{survey}"):
            with guarded("applying your choices"):
                state.update_source(survey, actions=choices)
                st.rerun()
    share = st.slider("Minimum share of a scale's items a respondent must answer to get a scale score",
                      0.1, 1.0, float(source.min_share), 0.05, key=f"min_share_{survey}")
    if share != source.min_share:
        with guarded("rescoring"):
            state.update_source(survey, min_share=share)
            st.rerun()
    plain(f"After your choices, {len(prepared.data):,} respondents remain. Scale scores are the mean of the "
          f"answered items (reverse-keyed items recoded as min + max − answer), given when at least "
          f"{source.min_share:.0%} of a scale's items are answered.")

# ---------------------------------------------------------------- codebook and download
with st.container(border=True):
    st.subheader("4 · Codebook")
    codebook = instrument.codebook()
    if codebook.empty:
        st.caption("No scales yet: the codebook lists each scale's items once section 2 defines them.")
    else:
        st.dataframe(codebook.reindex(columns=["variable", "construct_label", "topic", "text", "reverse", "labels",
                                               "source"]), hide_index=True)
    download_buttons(codebook, f"codebook_{survey}", key=f"codebook_{survey}")

with st.container(border=True):
    st.subheader("5 · Cleaned and scored data")
    st.caption("Items renamed to the instrument's ids, your choices applied, one column per construct score.")
    download_buttons(prepared.data, f"{survey}_cleaned_scored", key=f"cleaned_{survey}")
    st.download_button("Download Parquet (large studies)", data=lambda: write_data(prepared.data) or b"",
                       file_name=f"{survey}_cleaned_scored.parquet", mime="application/octet-stream",
                       key=f"dl_parquet_cleaned_{survey}", on_click="ignore", icon=":material/download:")

# ---------------------------------------------------------------- study settings, save and open
with st.container(border=True):
    st.subheader("6 · Study")
    invited = st.number_input("Number of people invited to this survey (for the response rate; 0 = unknown)",
                              min_value=0, value=int(st.session_state.get("study_invited", {}).get(survey) or 0),
                              key=f"invited_{survey}")
    st.session_state.setdefault("study_invited", {})[survey] = invited or None
    if "_opened_min_n" in st.session_state:  # a study just opened: its threshold, not the widget's old value
        st.session_state["study_min_n_input"] = max(state.min_n_floor(), int(st.session_state.pop("_opened_min_n")))
    min_n = st.number_input("Privacy threshold: smallest group whose scores may be shown",
                            min_value=state.min_n_floor(), max_value=50, value=state.min_n(), key="study_min_n_input",
                            help=f"Can be raised for this study; this server does not allow less than "
                                 f"{state.min_n_floor()} (COPROD_MIN_N_FLOOR).")
    state.set_min_n(min_n)

    st.markdown("**Study file** · the study's definition (each survey's file, column roles, scales, mapping, "
                "your choices and the threshold) as YAML, with its data files in one .zip. Upload it here in "
                "another session, or run any command on it: `python -m analysis reliability study.yaml "
                "--survey NAME --scale SCALE --json`.")
    with guarded("writing the study file"):
        # the study and files are taken now: the download's callable runs outside this script run,
        # where the session's state is not at hand (it then wrote the bundled sample's files)
        study_now, files_now = state.current_study(), state.study_files()
        st.download_button("Download study file with its data (.zip)",
                           data=lambda: _study_zip(study_now, files_now),
                           file_name="study.zip", mime="application/zip", key="dl_study_zip", on_click="ignore",
                           icon=":material/download:")
    bundle = st.file_uploader("Open a study file: a study .zip, or a study .yaml together with its data files",
                              accept_multiple_files=True, key="study_bundle")
    if bundle:
        ids = tuple(f.file_id for f in bundle)
        if st.session_state.get("_opened_bundle") != ids:
            st.session_state["_opened_bundle"] = ids
            try:
                opened = _open_bundle({f.name: f.getvalue() for f in bundle})
                st.session_state["_opened_min_n"] = state.min_n()
                # said after the rerun (a message written just before st.rerun() is wiped at once)
                st.session_state["_opened_note"] = f"Opened the study “{opened}”."
                st.rerun()
            except InputError as exc:
                show_error(exc)
                st.caption("The study loaded before is unchanged.")
    if "_opened_note" in st.session_state:
        st.success(st.session_state.pop("_opened_note"))

    store = None
    with guarded("opening the saved studies"):  # a damaged or unreachable database: say which
        store = access.open_store()
    if store is not None:
        current_ref = st.session_state.get("study_ref")  # (slug, version) of the study opened or saved last
        name = st.text_input("Save this study as", value="", key="study_name", help="For example: City survey 2026")
        password = st.text_input("Owner password (optional)", type="password", key="study_owner_password",
                                 value=st.session_state.get("_owner_password", ""),
                                 help="Asked when the study's link is opened and when a new version is saved. "
                                      "Leave empty for a study anyone with this dashboard's address may open.")
        if st.button("Save study", disabled=not name.strip(), key="save_study"):
            with guarded("saving the study"):
                slug = slugify(name.strip())
                latest = store.latest_version(slug)
                if latest is not None and (current_ref is None or current_ref[0] != slug):
                    raise InputError(f"a saved study is already called “{name.strip()}” (version {latest})",
                                     hint="open it below to save a new version of it, or choose another name")
                files = state.study_files()
                ref = store.save_study(name.strip(), studies.to_yaml(state.current_study(name.strip())), files,
                                       min_n=state.min_n(), expected_version=latest,
                                       owner_password=password or None,
                                       settings={"invited": st.session_state.get("study_invited", {})})
                if password:
                    st.session_state["_owner_password"] = password
                access.saved_as(ref.slug, ref.version, ref.name)
                st.success(f"Saved as “{ref.name}” (version {ref.version}). Earlier versions are kept. "
                           "The address now opens this study; the sidebar makes viewer links.")
        ref_now = st.session_state.get("study_ref")
        if ref_now:
            with guarded("listing the viewer links"):
                links = store.list_viewer_tokens(ref_now[0])
                if links:
                    st.markdown("**Viewer links of this study** (each opens the aggregated screens only)")
                    st.dataframe(pd.DataFrame([{"link": t.id, "label": t.label, "made": t.created_at,
                                                "expires": t.expires_at, "revoked": t.revoked_at} for t in links]),
                                 hide_index=True)
                    active = [t.id for t in links if t.revoked_at is None]
                    if active:
                        chosen_link = st.selectbox("Revoke viewer link", active, key="revoke_link_id")
                        if st.button("Revoke", key="revoke_link"):
                            store.revoke_viewer_token(ref_now[0], int(chosen_link))
                            st.session_state["_revoked_note"] = f"Viewer link {chosen_link} no longer opens the study."
                            st.rerun()
                    if "_revoked_note" in st.session_state:
                        st.success(st.session_state.pop("_revoked_note"))
        with guarded("listing saved studies"):
            saved = store.list_studies()
            if saved:
                st.dataframe(pd.DataFrame([{"study": s.name, "version": s.version, "saved": s.saved_at,
                                            "saved by": s.saved_by} for s in saved]), hide_index=True)
                chosen = st.selectbox("Open a saved study", [s.slug for s in saved],
                                      format_func=lambda slug: next(f"{s.name} (v{s.version})" for s in saved
                                                                    if s.slug == slug), key="open_study_id")
                if st.button("Open", key="open_study"):
                    access.reopen(chosen)  # through the owner's link: asks for the password if it has one
                    st.rerun()
