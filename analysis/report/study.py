"""The study report: every survey of a study, from its data to its readiness results, in the
order of the research agenda (data, measurement, then the topics' results).

``build_study_report(study)`` reads each survey through ``analysis.pipeline.prepare_survey``
(the pipeline every command and page uses) and returns a :class:`Report`; ``study_report_html``
writes it as one self-contained HTML file. Sections that cannot be computed say what is missing.
"""
from __future__ import annotations

from pathlib import Path

from analysis import privacy
from analysis.report.document import Report, Section
from analysis.report.measurement import FAILURES, SurveyData, agreement_section, data_summary, reliability_section
from analysis.report.models import applies, model_section
from analysis.report.readiness import has_readiness, readiness_section
from analysis.report.topics import has_topic, topic_one_section, topic_three_section


def load_surveys(study, *, study_path: str | None = None, names=None, commands: dict[str, str] | None = None,
                 contents: dict[str, bytes] | None = None, prepared: dict | None = None) -> list[SurveyData]:
    """Prepare every survey of ``study``; a survey that cannot be read carries its error.

    Parameters
    ----------
    study : analysis.study.Study
    study_path : str, optional
        How the commands name the study file (for the 'Reproduce' lines); None leaves them out.
    names : sequence of str, optional
        Only these surveys (default all).
    commands : dict, optional
        Survey name -> how a command names its data (e.g. ``FILE.csv --instrument ID``), in place
        of ``STUDY.yaml --survey NAME``.
    contents : dict, optional
        Survey name -> the data file's bytes (uploads in the dashboard), instead of the file
        beside the study file (``prepare_survey(content=...)``).
    prepared : dict, optional
        Survey name -> an already prepared ``PreparedData`` (the dashboard's cached one); such a
        survey is not read again.
    """
    from analysis.commands import max_file_bytes
    from analysis.pipeline import prepare_survey

    out = []
    for survey in study.surveys:
        if names is not None and survey.name not in names:
            continue
        title = survey.title or survey.name
        command = (commands or {}).get(survey.name) or (f"{study_path} --survey {survey.name}" if study_path else "")
        try:
            ready = (prepared or {}).get(survey.name) or prepare_survey(
                study, survey.name, content=(contents or {}).get(survey.name), max_bytes=max_file_bytes())
        except FAILURES as exc:
            out.append(SurveyData(survey.name, title, str(survey.file or ""), None, None, [], str(exc), command))
            continue
        out.append(SurveyData(survey.name, title, str(survey.file or ""), ready.data, ready.instrument,
                              list(ready.report.problems), "", command))
    return out


def study_min_n(study, min_n: int | None = None) -> int:
    """The threshold a report uses: the study's (default 5), raised to ``min_n`` when that is
    higher, never below the server's floor (``privacy.effective_min_n``). A request can make the
    protection stricter than the study's, never weaker."""
    chosen = [int(v) for v in (min_n, study.min_n) if v is not None]
    return privacy.effective_min_n(max(chosen) if chosen else None)


def build_study_report(study, *, min_n: int | None = None, study_path: str | None = None,
                       surveys: list[SurveyData] | None = None) -> Report:
    """The study report as a :class:`Report`.

    Parameters
    ----------
    study : analysis.study.Study
        The study (``analysis.study.load_study``).
    min_n : int, optional
        Privacy threshold: raises the study's ``min_n`` (default 5), never below it nor below
        ``COPROD_MIN_N_FLOOR`` (``study_min_n``).
    study_path : str, optional
        The study file as the commands take it, for the 'Reproduce' lines.
    surveys : list of SurveyData, optional
        Already prepared surveys (``load_surveys``); default: prepared here.
    """
    threshold = study_min_n(study, min_n)
    surveys = surveys if surveys is not None else load_surveys(study, study_path=study_path)
    report = Report(study.title or "Study report", min_n=threshold, subtitle=[
        f"Surveys: {', '.join(s.title for s in surveys) or 'none'}.",
        f"Privacy: no number in this report comes from fewer than {threshold} respondents; groups below that "
        "(and groups pooled with them) are shown without scores."])
    report.sections.append(Section("1. Data"))
    if not surveys:
        report.sections[-1].missing.append("The study has no survey.")
    report.sections += [data_summary(s, threshold) for s in surveys]
    report.sections.append(Section("2. Measurement", paragraphs=[
        "Reliability of each scale and agreement within the first group column of each survey, scales in the order "
        "of the research agenda's topics."]))
    for s in surveys:
        report.sections += [reliability_section(s, threshold), agreement_section(s, threshold)]
    report.sections.append(Section("3. Research topic 1: knowledge, skills and attitudes", paragraphs=[
        "How the respondents score on the scales of digital skills, attitudes to co-production, motivation and "
        "acceptance of digital tools."]))
    with_topic = [s for s in surveys if has_topic(s, 1)]
    if not with_topic:
        report.sections[-1].missing.append("No survey of this study has scales of research topic 1 (a scale's topic: "
                                           "1 in the study file, or the bundled instruments).")
    report.sections += [topic_one_section(s, threshold) for s in with_topic]
    ready = [s for s in surveys if has_readiness(s)]
    report.sections.append(Section("4. Research topic 2: resources and organisational conditions", paragraphs=[
        "Organisational readiness for digital co-production: the index (0-100) is the mean of the readiness "
        "dimensions (people-centred strategy, structures, flexible work, resources, training, leadership, "
        "regulation), each rescaled to 0-100."]))
    if not ready:
        report.sections[-1].missing.append("No survey of this study has readiness dimensions (a public-servant "
                                           "survey with the readiness items, or scales marked readiness_dimension).")
    for s in ready:
        report.sections.append(readiness_section(s, threshold))
        if applies(s, "engagement"):
            report.sections.append(model_section(s, "engagement", threshold))
    report.sections.append(Section("5. Research topic 3: drivers, challenges and outcomes", paragraphs=[
        "What the respondents see as barriers, challenges, benefits and outcomes, and who co-produces digitally: the "
        "multilevel model of the citizens' digital participation, with offline participation, age, gender, education, "
        "area and digital skills, and a random intercept per municipality."]))
    with_topic = [s for s in surveys if has_topic(s, 3)]
    citizens = [s for s in surveys if applies(s, "participation")]
    if not with_topic:
        report.sections[-1].missing.append("No survey of this study has barriers, enablers, challenges, benefits or "
                                           "outcomes scales (a scale's family in the study file, or the bundled "
                                           "instruments).")
    if not citizens:
        report.sections[-1].missing.append("No citizens' survey with the participation channels: the digital "
                                           "participation model is not fitted.")
    report.sections += [topic_three_section(s, threshold) for s in with_topic]
    report.sections += [model_section(s, "participation", threshold) for s in citizens]
    report.sections.append(Section("About this report", paragraphs=[
        "Every number was computed by the dashboard's statistics library (analysis/) from the study file and its data "
        "files, with the Data page's default choices; tables name the command that reproduces them. Reliability: "
        "psych::alpha and psych::omega; agreement: multilevel::rwg.j, ICC1, ICC2; models: lme4 and lmerTest; "
        "readiness: see the readiness command's documentation."]))
    return report


def study_report_html(study, *, min_n: int | None = None, study_path: str | None = None,
                      surveys: list[SurveyData] | None = None) -> str:
    """The study report as one self-contained HTML document (see ``build_study_report``)."""
    from analysis.report.render import to_html

    return to_html(build_study_report(study, min_n=min_n, study_path=study_path, surveys=surveys))


def write_study_report(study, out: str | Path, *, pdf: bool = False, min_n: int | None = None,
                       study_path: str | None = None, surveys: list[SurveyData] | None = None,
                       charts: str | Path | None = None) -> list[Path]:
    """Write the study report; returns the files written.

    Parameters
    ----------
    study : analysis.study.Study
    out : str or Path
        ``.html``: the HTML file (with ``pdf=True`` also the PDF beside it, same name ``.pdf``);
        ``.pdf``: the PDF only, printed by chromium (``analysis.report.pdf``).
    pdf : bool
        Also print the PDF when ``out`` is an HTML file.
    min_n, study_path, surveys
        As for ``build_study_report``.
    charts : str or Path, optional
        A folder to write every chart of the report into as PNG and SVG
        (``analysis.report.images.export_figure``; named by the chart's id).

    Raises
    ------
    InputError
        When the PDF cannot be printed (no chromium). The HTML is written first (for a ``.pdf``
        ``out``: beside it, ``.html``) and the message names it, since it needs no browser.
    """
    from analysis.errors import InputError
    from analysis.report.pdf import html_to_pdf
    from analysis.report.render import to_html

    out = Path(out)
    report = build_study_report(study, min_n=min_n, study_path=study_path, surveys=surveys)
    html = to_html(report)
    wants_pdf = pdf or out.suffix.lower() == ".pdf"
    html_path = out if out.suffix.lower() != ".pdf" else out.with_suffix(".html")
    written = [html_path] if html_path == out else []
    if written:
        html_path.write_text(html, encoding="utf-8")
    if wants_pdf:
        pdf_path = out.with_suffix(".pdf")
        try:
            html_to_pdf(html, pdf_path)
        except InputError as exc:
            if not written:
                html_path.write_text(html, encoding="utf-8")
            raise InputError(f"{exc.message}; the HTML report was written to {html_path}", hint=exc.hint) from None
        written.append(pdf_path)
    if charts is not None:
        from analysis.report.images import export_figure

        folder = Path(charts)
        folder.mkdir(parents=True, exist_ok=True)
        for fig in report.figures:
            if fig.figure is not None:
                written += export_figure(fig.figure, folder / fig.id)
    return written


def study_report_bytes(study, *, pdf: bool = False, min_n: int | None = None, study_path: str | None = None,
                       surveys: list[SurveyData] | None = None) -> bytes:
    """The study report as the bytes of its HTML (UTF-8) or PDF file, for a download button:
    the same content as ``python -m analysis report STUDY.yaml --out report.html`` when
    ``study_path`` names the study file as the command was given it.

    Parameters
    ----------
    study : analysis.study.Study
    pdf : bool
        PDF (printed by chromium; ``InputError`` without it) instead of HTML.
    min_n, study_path, surveys
        As for ``build_study_report`` (``surveys``: e.g. ``load_surveys(study, prepared=...)``).
    """
    import tempfile

    from analysis.report.pdf import html_to_pdf

    html = study_report_html(study, min_n=min_n, study_path=study_path, surveys=surveys)
    if not pdf:
        return html.encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="coprod-report-") as tmp:
        return html_to_pdf(html, Path(tmp) / "report.pdf").read_bytes()
