"""The "Reproduce this analysis" panel: the headless commands and a runnable R script.

Each analysis section of the Measurement and Models screens calls ``panel`` once with its own
choices; the script is built by ``analysis.reproduce`` (this module only renders it). The script
text is made while the page runs and handed to the download button as bytes, so the download
never reads the session state.

The expander is lazy (``on_change="rerun"``): its commands and script are written only while it
is open, because writing a script walks the survey's rows (the rows a screen leaves out, by
number), which at a national survey's 600,000 respondents cost about a second per panel on every
rerun of the page, opened or not.
"""
from __future__ import annotations

from typing import Any, Iterable

import streamlit as st

from analysis.errors import InputError
from analysis.reproduce import r_script
from analysis.reproduce.commands import command_lines
from ui import state
from ui.widgets import survey_source


def _data_argument(survey_id: str) -> tuple[str, dict[str, str], str, str]:
    """``(DATA as typed, the option choosing the survey, the script's data folder, data file name)``:
    DATA as every screen's command names it (``ui.widgets.survey_source``); the script finds the
    data file in the sample folder, or beside the study file or the upload."""
    data, chosen = survey_source(survey_id)
    source = state.sources()[survey_id]
    base_dir = "sample_data" if source.is_sample and source.definition is None else "."
    return data, chosen, base_dir, source.filename


def panel(analysis: str, survey_id: str, *, key: str, exclude: Iterable | None = None,
          rows_note: str | None = None, scales: list[str] | None = None, min_n: int | None = None,
          command: str | None = None, cli_script: bool = True, **choices: Any) -> None:
    """The "Reproduce this analysis" expander of one analysis section.

    Parameters
    ----------
    analysis : str
        ``reliability``, ``aggregate``, ``cfa`` or ``mixed``.
    survey_id : str
        The survey shown (a key of ``ui.state.sources()``).
    key : str
        Widget key prefix: the expander is ``{key}_open`` (True in the session state opens it), the
        download button ``{key}_dl``.
    exclude : iterable, optional
        Index labels of the survey's prepared data this screen leaves out; ``rows_note`` says why.
    rows_note : str, optional
        The reason, shown and written into the script.
    scales : list of str, optional
        cfa with one factor per scale: the scales (for the command).
    min_n : int, optional
        aggregate: the privacy threshold (for the command).
    command : str, optional
        The screen's own command giving its numbers (a topic screen's ``topics --section ...``,
        which applies the screen's filters), shown instead of the analysis command.
    cli_script : bool
        ``python -m analysis rscript`` writes this analysis' script too (not the group
        comparison, whose script the screen alone writes).
    **choices
        The screen's choices, as ``analysis.reproduce.r_script`` takes them.
    """
    from ui import access
    if access.is_viewer():  # a viewer link has no data to run a script on, and row numbers are the owner's
        return
    with st.expander("Reproduce this analysis", icon=":material/terminal:", key=f"{key}_open",
                     on_change="rerun") as box:
        if not box.open:
            return
        prepared = state.dataset(survey_id)
        if prepared is None:
            st.caption("Load the survey to reproduce its analyses.")
            return
        data, chosen, base_dir, data_file = _data_argument(survey_id)
        survey = state.source_survey(state.sources()[survey_id])
        exclude = list(exclude) if exclude is not None else None
        try:
            shown, rscript = command_lines(analysis, data, survey=chosen.get("survey"),
                                           instrument=chosen.get("instrument"), scales=scales, min_n=min_n, **choices)
            shown = command or shown
            script = r_script(analysis, survey, prepared, command=shown, base_dir=base_dir, data_file=data_file,
                              exclude=exclude or None, rows_note=rows_note, title=None, **choices)
        except InputError as exc:
            st.info(f"No R script for this analysis: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""),
                    icon=":material/info:")
            return
        st.markdown("The same numbers without the dashboard, and the R script that recomputes them from the "
                    "survey file with R's own packages (same recoding, missing codes and scale scores; it prints "
                    "JSON with the same keys). Run it with `Rscript reproduce_" + analysis + ".R` beside "
                    + ("the study file." if base_dir == "." else "the dashboard's folder."))
        st.code(shown, language="bash", wrap_lines=True)
        if not cli_script:
            st.caption("The script below is written by this screen for the respondents it compares.")
        elif command and exclude:  # the rscript command writes the script for the whole survey
            st.caption("The script below is written for the respondents this screen uses; "
                       f"`{rscript.split(' --out ')[0]}` writes it for the whole survey.")
        else:
            st.caption("The R script without the dashboard:")
            st.code(rscript, language="bash", wrap_lines=True)
        if exclude and rows_note:
            st.caption(f"The script leaves out, by their row numbers in the file, the respondents this screen "
                       f"leaves out ({rows_note}).")
        st.download_button("Download the R script", data=script.encode("utf-8"),
                           file_name=f"reproduce_{analysis}_{survey_id}.R", mime="text/plain", key=f"{key}_dl",
                           icon=":material/download:")
        st.code(script, language="r", line_numbers=True)
