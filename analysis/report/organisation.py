"""One report per organisation, for its practitioners: readiness index and dimensions with
95% CIs, the benchmark of all organisations shown, agreement, and where to start with the
evidence from the literature (``analysis.readiness``, ``analysis/evidence.yaml``).

Suppression (``analysis.privacy`` through ``analysis.readiness``): an organisation with fewer
respondents than the threshold, or pooled with such an organisation, gets a report that says
its scores cannot be shown and contains no number computed from its answers: no index,
dimension, CI, agreement, percentile, count, and no benchmark either (nothing to compare).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis import formatting as fmt
from analysis.errors import InputError
from analysis.report.document import Figure, Report, Section, Table
from analysis.report.measurement import FAILURES


def _title(group_column: str, group, name: str | None = None) -> str:
    who = f"{name} ({group_column} {group})" if name else f"{group_column} {group}"
    return f"Readiness for digital co-production: {who}"


def suppressed_report(group_column: str, group, min_n: int, *, study_title: str = "", survey_title: str = "",
                      name: str | None = None) -> Report:
    """The report of an organisation whose scores cannot be shown: an explanation, no number."""
    report = Report(_title(group_column, group, name), subtitle=[s for s in (study_title, survey_title) if s],
                    min_n=min_n)
    report.sections.append(Section("Scores cannot be shown", missing=[
        f"The scores of this organisation cannot be shown: fewer than {min_n} of its staff answered the readiness "
        "questions, or showing them would let the answers of a smaller organisation be worked out."]))
    report.sections.append(Section("Why, and what helps", paragraphs=[
        "This protects the people who answered: no index, dimension score, agreement or ranking is given for this "
        "organisation, and none of its answers can be read from the other organisations' reports.",
        "What helps next time: more colleagues answering the survey. Once enough have answered, this report shows "
        "the organisation's readiness index, its readiness dimensions, how much its staff agree, and where to "
        "start."]))
    return report


def organisation_report(result, group, *, study_title: str = "", survey_title: str = "",
                        name: str | None = None) -> Report:
    """The practitioners' report of one organisation (see the module docstring).

    Parameters
    ----------
    result : analysis.readiness.ReadinessResult
        Readiness of every organisation of the survey (the benchmark is over them).
    group : object
        The organisation's value in ``result.group_column``.
    study_title, survey_title : str
        Shown under the title.
    name : str, optional
        The organisation's name (``analysis.organisations``: a lookup file or name column).
    """
    from analysis.readiness import evidence_for

    row = result._row(group)
    col = result.group_column
    if bool(row["suppressed"]):
        return suppressed_report(col, row["group"], result.min_n, study_title=study_title, survey_title=survey_title,
                                 name=name)
    bench = result.benchmark.set_index("measure")
    pct = result.percentiles[result.percentiles["group"].astype(str) == str(row["group"])].set_index("measure")
    n_shown = int(bench.loc["index", "n_groups"])
    report = Report(_title(col, row["group"], name), min_n=result.min_n, subtitle=[
        s for s in (study_title, survey_title, f"Compared with the {n_shown} organisations whose scores can be shown.")
        if s])
    summary = Section("Summary", paragraphs=[summary_text(result, row, bench, pct)])
    rows = []
    for key in ["index", *result.dimensions]:
        label = "Readiness index" if key == "index" else result.labels[key]
        n_key = row.get(f"{key}_n") if key != "index" else row["n"]
        rows.append([label, fmt.cell(row[key], 0), fmt.ci_text(row[f"{key}_ci_low"], row[f"{key}_ci_high"], 0),
                     fmt.cell(bench.loc[key, "median"], 0),
                     fmt.ci_text(bench.loc[key, "q1"], bench.loc[key, "q3"], 0),
                     fmt.cell(pct.loc[key, "percentile"] if key in pct.index else None, 0), fmt.count(n_key)])
    summary.tables.append(Table(
        "Readiness index and dimensions (0-100)",
        ["Measure", "Score", "95% CI", "Median of all", "Middle half of all", "Percentile", "n"], rows,
        note="Score: the mean of the staff's answers on 0-100 (0 the lowest answer, 100 the highest); the index is "
             "the mean of the dimensions. 95% CI: the range the score would likely fall in with other staff answering. "
             "Median and middle half (quartiles) of the organisations shown; percentile: share of them below this "
             f"organisation. Organisations with fewer than {result.min_n} respondents are left out of every number."))
    from analysis.report.charts import organisation_svg

    summary.figures.append(Figure("organisation-readiness", svg=organisation_svg(result, row["group"]),
                                  caption="Bars: this organisation with its 95% CI; diamonds: median of all "
                                          "organisations with the middle half."))
    report.sections.append(summary)
    agree = Section("Do the staff agree?")
    if pd.notna(row["rwg"]):
        agree.paragraphs.append(
            f"Agreement rwg(j) = {fmt.cell(row['rwg'], bounded=True)} (0: no more agreement than random answers, "
            "1: everyone answers alike). " + (
                "Below .70: the staff do not share one view, so the organisation's mean speaks for no one in "
                "particular; look at how different teams see it before acting." if row["rwg"] < 0.70 else
                "At .70 or more: the staff share a view, so the scores describe the organisation as its staff see it."))
    else:
        agree.missing.append("Agreement could not be computed (too few complete answers to every readiness question).")
    report.sections.append(agree)
    start = result.where_to_start(row["group"])
    where = Section("Where to start", paragraphs=[start.message])
    for r in start.table.itertuples():
        theme = evidence_for(result._constructs[r.dimension])
        where.tables.append(Table(
            f"{r.label}: {fmt.cell(r.score, 0)} against a median of {fmt.cell(r.median, 0)}",
            ["What the literature reports", "Kind", "Source"],
            [[e["text"], e["kind"], e["source"]] for e in theme["enablers"]], numeric=[False, False, False]))
    report.sections.append(where)
    report.sections.append(Section("About these numbers", paragraphs=[
        "Each dimension is the mean of its questions (reverse-worded ones turned round) rescaled to 0-100; the "
        "index is the mean of the dimensions. The evidence under 'Where to start' summarises the barriers and "
        "enablers reported by Clifton, Díaz-Fuentes and Llamosas García and the other sources named; it is evidence "
        f"to read, not a prescription. Privacy: no number comes from fewer than {result.min_n} respondents."]))
    return report


def summary_text(result, row, bench, pct) -> str:
    """The organisation's readiness in one paragraph, numbers through ``analysis.formatting``."""
    name = f"{result.group_column} {row['group']}"
    if pd.isna(row["index"]):
        return (f"{name} ({fmt.count(row['n'])} respondents) has no readiness index because a dimension had too "
                "few answers; the dimensions below are shown where they can be.")
    text = (f"{name} ({fmt.count(row['n'])} respondents) has a readiness index of {fmt.cell(row['index'], 0)} out of "
            f"100 (95% CI {fmt.ci_text(row['index_ci_low'], row['index_ci_high'], 0)}).")
    median = bench.loc["index", "median"]
    if pd.notna(median):
        text += (f" The median of the {fmt.count(bench.loc['index', 'n_groups'])} organisations shown is "
                 f"{fmt.cell(median, 0)}")
        if "index" in pct.index and pd.notna(pct.loc["index", "percentile"]):
            text += f"; its percentile rank among them is {fmt.cell(pct.loc['index', 'percentile'], 0)}"
        text += "."
    return text


def safe_file_name(text) -> str:
    """A file-name-safe version of an organisation id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._") or "group"


def organisation_documents(study, *, survey: str | None = None, group: str | None = None, min_n: int | None = None,
                           only=None, contents: dict[str, bytes] | None = None,
                           prepared: dict | None = None) -> list[tuple[object, bool, str]]:
    """``[(organisation, suppressed, html)]`` for every organisation of a survey (or those in ``only``).

    Parameters
    ----------
    study : analysis.study.Study
    survey : str, optional
        The survey's name (optional when the study has one survey).
    group : str, optional
        The organisation column; default the survey's organisation group (its first group).
    min_n : int, optional
        Privacy threshold: raises the study's, never below it nor ``COPROD_MIN_N_FLOOR``.
    only : sequence, optional
        Organisation ids (compared as text) to make reports for; default all.
    contents, prepared : dict, optional
        The survey's data as uploaded bytes or already prepared (``analysis.report.study.load_surveys``).
    """
    from analysis.report import readiness as ready
    from analysis.report.render import to_html
    from analysis.report.study import load_surveys, study_min_n

    threshold = study_min_n(study, min_n)
    chosen = study.survey(survey)
    data = load_surveys(study, names=[chosen.name], contents=contents, prepared=prepared)[0]
    if data.data is None:
        raise InputError(f"the survey '{chosen.name}' cannot be read: {data.error}")
    if not ready.has_readiness(data):
        raise InputError(f"the survey '{chosen.name}' has no readiness dimensions",
                         hint="organisation reports need the public-servant instrument or scales marked "
                              "readiness_dimension")
    result = ready.compute(data, threshold, group)
    ids = list(result.groups["group"])
    if only:
        wanted = {str(o) for o in only}
        unknown = wanted - {str(g) for g in ids}
        if unknown:
            raise InputError(f"no organisation '{sorted(unknown)[0]}' in {result.group_column}",
                             column=result.group_column, hint="omit --org for every organisation")
        ids = [g for g in ids if str(g) in wanted]
    names = _names(study, chosen, data, result.group_column)
    out = []
    for g in ids:
        report = organisation_report(result, g, study_title=study.title, survey_title=data.title,
                                     name=names(g))
        out.append((g, bool(result._row(g)["suppressed"]), to_html(report)))
    return out


def write_organisation_reports(study, out_dir: str | Path, *, survey: str | None = None, group: str | None = None,
                               min_n: int | None = None, only=None, pdf: bool = True) -> list[dict]:
    """Write one PDF (or HTML with ``pdf=False``) per organisation into ``out_dir``.

    Returns one ``{"group", "suppressed", "file"}`` per report; see ``organisation_documents``
    for the parameters. ``InputError`` when chromium is missing (``pdf=True``).
    """
    from analysis.report.pdf import htmls_to_pdfs, require_chromium

    out_dir = Path(out_dir)
    if pdf:
        require_chromium()  # before any work: say at once that the PDFs cannot be made
    docs = organisation_documents(study, survey=survey, group=group, min_n=min_n, only=only)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, pending, used = [], [], set()
    for g, suppressed, html in docs:
        stem = f"organisation_{safe_file_name(g)}"
        while stem.lower() in used:  # two ids that differ only in characters a file name cannot hold
            stem += "_"
        used.add(stem.lower())
        path = out_dir / f"{stem}.{'pdf' if pdf else 'html'}"
        rows.append({"group": g, "suppressed": suppressed, "file": str(path)})
        if pdf:
            pending.append((html, path))
        else:
            path.write_text(html, encoding="utf-8")
    if pending:
        htmls_to_pdfs(pending)
    return rows


def _names(study, survey, data, group_column: str):
    """``id -> name or None``: the organisations' names from the survey's lookup file or name
    column (``analysis.organisations``); ids only when there are none or they cannot be read."""
    try:
        from analysis.organisations import organisations, read_lookup
        from analysis.study import lookup_spec

        spec = lookup_spec(study, survey)
        lookup = read_lookup(spec[0]) if spec is not None else None
        known = organisations(data.data, group_column, instrument=data.instrument, lookup=lookup)
    except (ImportError, *FAILURES):
        return lambda group: None
    table = known.table.dropna(subset=["name"])
    named = {str(g) for g in table["group"]}
    return lambda group: known.name(group) if str(group) in named else None


def organisation_report_bytes(study, organisation, *, pdf: bool = True, survey: str | None = None,
                              group: str | None = None, min_n: int | None = None,
                              contents: dict[str, bytes] | None = None, prepared: dict | None = None) -> bytes:
    """One organisation's report as PDF (or HTML, UTF-8) bytes, for a download button; the
    same content as ``python -m analysis org-reports ... --org ID``. Parameters as for
    ``organisation_documents``; ``InputError`` for an unknown organisation or without chromium."""
    import tempfile

    from analysis.report.pdf import html_to_pdf, require_chromium

    if pdf:
        require_chromium()
    docs = organisation_documents(study, survey=survey, group=group, min_n=min_n, only=[organisation],
                                  contents=contents, prepared=prepared)
    html = docs[0][2]
    if not pdf:
        return html.encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="coprod-report-") as tmp:
        return html_to_pdf(html, Path(tmp) / "organisation.pdf").read_bytes()
