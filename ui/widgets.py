"""Small widgets every page uses: error boxes, downloads, plain-language readings, citations."""
from __future__ import annotations

import functools
import re
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from analysis import export
from analysis.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def show_error(exc: BaseException, doing: str = "working on this") -> None:
    """Show an error the user can act on, never a raw traceback element.

    ``InputError`` is the input's fault: its message says what to change. Anything else
    is our bug: a friendly sentence plus the technical details, folded away, for a bug report.
    """
    if isinstance(exc, InputError):
        st.error(str(exc), icon=":material/error:")
        return
    st.error(f"Something went wrong while {doing}. The rest of the dashboard still works; "
             "if this keeps happening, please report it with the details below.",
             icon=":material/bug_report:")
    with st.expander("Technical details for a bug report"):
        details = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        frames = traceback.extract_tb(exc.__traceback__)[-3:]
        where = "\n".join(f"  {Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames)
        st.code(f"{details}\n{where}", language=None)


@contextmanager
def guarded(label: str) -> Iterator[None]:
    """``with guarded("fitting the model"): ...`` shows any failure with ``show_error``.

    Streamlit's own control flow (``st.rerun``, ``st.stop``) derives from BaseException
    and passes through untouched.
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the point is to catch everything for the user
        show_error(exc, label)


def to_xlsx_bytes(df: pd.DataFrame, sheet_name: str = "data") -> bytes:
    """An .xlsx file of ``df`` whose text is never a formula (``analysis.export``)."""
    return export.to_xlsx_bytes(df, sheet_name)


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV of ``df`` with formula-like text neutralised (``analysis.export``, OWASP's rule)."""
    return export.to_csv_bytes(df)


def download_buttons(df: pd.DataFrame, basename: str, *, key: str | None = None) -> None:
    """Two buttons: the table as CSV and as Excel. The files are built only when clicked."""
    key = key or basename
    left, right = st.columns(2)
    with left:
        st.download_button("Download CSV", data=lambda: to_csv_bytes(df), file_name=f"{basename}.csv",
                           mime="text/csv", key=f"dl_csv_{key}", on_click="ignore",
                           icon=":material/download:")
    with right:
        st.download_button(
            "Download Excel", data=lambda: to_xlsx_bytes(df), file_name=f"{basename}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"dl_xlsx_{key}", on_click="ignore", icon=":material/download:")


def chart(fig, key: str | None = None, **kwargs) -> None:
    """``st.plotly_chart`` plus a "Save image" menu: the figure as PNG and SVG, made by plotly's
    static export (kaleido driving Debian's chromium, ``analysis.report.images``) only when
    clicked, with the title and legend inside the image."""
    st.plotly_chart(fig, key=key, **kwargs)
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", str(key or "chart")).strip("_") or "chart"
    with st.popover("Save image", icon=":material/image:"):
        for fmt, mime in (("png", "image/png"), ("svg", "image/svg+xml")):
            st.download_button(fmt.upper(), data=functools.partial(_image, fig, fmt), file_name=f"{name}.{fmt}",
                               mime=mime, key=f"img_{fmt}_{name}", on_click="ignore")
        st.caption("PNG for slides, SVG for print and journals.")


def _image(fig, fmt: str) -> bytes:
    from analysis.report.images import figure_images

    return figure_images(fig, (fmt,))[fmt]


def report_buttons(label: str, make, file_stem: str, *, key: str) -> None:
    """HTML and PDF downloads of a report; ``make(pdf: bool) -> bytes`` runs only when clicked
    (so it must not read ``st.session_state``: the click is served outside the script run).
    Without chromium the PDF button is replaced by the reason; the HTML still works."""
    from analysis.report.pdf import require_chromium

    left, right = st.columns(2)
    left.download_button(f"{label} (HTML)", data=lambda: make(False), file_name=f"{file_stem}.html",
                         mime="text/html", key=f"{key}_html", on_click="ignore", icon=":material/description:")
    try:
        require_chromium()
    except InputError as exc:
        right.caption(f"PDF not available here: {exc}")
        return
    right.download_button(f"{label} (PDF)", data=lambda: make(True), file_name=f"{file_stem}.pdf",
                          mime="application/pdf", key=f"{key}_pdf", on_click="ignore",
                          icon=":material/picture_as_pdf:")


def plain(text: str) -> None:
    """The plain-language reading under a result, for readers who are not statisticians."""
    st.info(f"**In plain words.** {text}", icon=":material/lightbulb:")


def warnings_of(result) -> None:
    """A result's ``warnings`` (what the library found doubtful about the fit), one box each."""
    for warning in getattr(result, "warnings", None) or []:
        st.warning(warning, icon=":material/warning:")


def cite(source: str) -> None:
    """A short citation line under a result or explanation (author, year, title)."""
    st.caption(f"Source: {source}")


def page_exists(path: str) -> bool:
    """Whether a page file exists (pages land one by one; links only to those present)."""
    return (ROOT / path).is_file()


def page_link(path: str, label: str, *, icon: str | None = None, help: str | None = None) -> None:
    """``st.page_link`` to a page of this app, or nothing when that page is not there yet."""
    if not page_exists(path):
        return
    try:
        st.page_link(path, label=label, icon=icon, help=help)
    except StreamlitAPIException:  # the page runs on its own (tests), outside app.py's navigation
        st.markdown(f"- {label}")


def stop_unless_loaded(loaded) -> None:
    """Stop the page with a pointer to the Data page when no survey could be prepared."""
    if any(x is not None for x in (loaded.values() if isinstance(loaded, dict) else loaded)):
        return
    st.warning("No survey data could be prepared. Load a file on the Data page.", icon=":material/upload_file:")
    page_link("pages/data.py", "Load and check data", icon=":material/upload_file:")
    st.stop()


def stop_without_roles(keys) -> None:
    """Stop a topic screen, with what to do, when the study has surveys but none plays the part
    the screen needs (``keys``: ``ui.state.role_survey`` of public servants and/or citizens)."""
    from ui import state

    loaded = state.surveys()
    if not loaded or any(k in loaded for k in keys):
        return
    roles = " or ".join(sorted({state.ROLE_LABELS.get(k, k) + "s" for k in keys if k in state.ROLE_LABELS}))
    st.info(f"This study has no survey of {roles or 'the kind this screen reads'}. The research-topic screens read "
            "the constructs of the bundled instruments (for example `digital_skills`, `coproduction_attitude`, the "
            "readiness dimensions `readiness_*`; see the codebook on the Data page). To use them: on the Data page, "
            "say who answered your survey (*Respondents*) and name your scales with those construct keys, or load "
            "your file with the bundled instrument and map its columns. Your scales are analysed on the "
            "Measurement and Models screens as they are.", icon=":material/info:")
    page_link("pages/data.py", "Load and check data", icon=":material/upload_file:")
    st.stop()


def survey_source(instrument_id: str) -> tuple[str, dict]:
    """DATA and the option naming the survey, as a command reads them: the bundled sample by its
    path and ``--instrument``, an upload by its file name, a survey of the user's own study as
    ``study.yaml --survey NAME`` (the study file the Data page downloads, data files beside it)."""
    from ui import state
    source = state.sources()[instrument_id]
    if source.definition is not None:
        return "study.yaml", {"survey": instrument_id}
    return (f"sample_data/{source.filename}" if source.is_sample else source.filename), {"instrument": instrument_id}


def where_words(filters: dict | None) -> list[str]:
    """A view's filters as the commands' ``--where COLUMN=V1,V2`` values."""
    return [f"{c}={','.join(str(v) for v in values)}" for c, values in (filters or {}).items()]


def command_text(name: str, instrument_id: str, *, filters: dict | None = None, min_n: int | None = None,
                 **options) -> str:
    """``python -m analysis NAME DATA --instrument ID [options] --where COL=V1,V2 --min-n N --json``
    for the survey loaded now (:func:`survey_source`). ``options`` are the command's own
    arguments by name (``scale_min=1``, ``section="divide"``), written by
    ``analysis.cli.command_line`` from the command's argument definitions."""
    from analysis.cli import command_line
    path, chosen = survey_source(instrument_id)
    where = where_words(filters)
    return command_line(name, path, **chosen, **options, **({"where": where} if where else {}),
                        **({"min_n": min_n} if min_n is not None else {}))


def show_command(text: str) -> None:
    """The command that gives this section's numbers without the dashboard."""
    st.caption("The same numbers without the dashboard:")
    st.code(text, language="bash")
