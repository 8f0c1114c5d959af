"""Study and organisation reports (analysis.report): the HTML holds the study's tables with numbers
formatted once (analysis.formatting), the PDF and the images are real files, small organisations get
a report without scores, bad studies get a report that says what is missing, and the commands write
the same content as the library."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from analysis import formatting as fmt
from analysis.errors import InputError
from analysis.report import (export_figure, html_to_pdf, organisation_report, study_report_html, write_study_report)
from analysis.report.organisation import organisation_documents, write_organisation_reports
from analysis.report.study import build_study_report, load_surveys
from analysis.study import load_study
from conftest import ROOT

SAMPLE = ROOT / "sample_data"


@pytest.fixture
def chromium() -> None:
    """Debian's chromium, which the README's test command installs: missing is a failure, not a skip."""
    if not Path("/usr/bin/chromium").is_file():
        pytest.fail("chromium not found at /usr/bin/chromium: run bash scripts/install-system-deps.sh")


def sample_study_text(servants: Path, min_n: int = 5) -> str:
    return (f"title: Sample study\nmin_n: {min_n}\nsurveys:\n"
            f"  - name: servants\n    title: Public servants\n    file: {servants}\n    instrument: public_servant\n"
            f"  - name: citizens\n    title: Citizens\n    file: {SAMPLE / 'citizens.csv'}\n    instrument: citizen\n")


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    """The sample study, with one organisation cut to 2 respondents (under the threshold of 5)."""
    folder = tmp_path_factory.mktemp("report_study")
    data = pd.read_csv(SAMPLE / "public_servants.csv")
    small = data["org_id"].value_counts().idxmin()
    rows = data.index[data["org_id"] == small]
    data = data.drop(rows[2:])
    data.to_csv(folder / "servants.csv", index=False)
    (folder / "study.yaml").write_text(sample_study_text(folder / "servants.csv"))
    (folder / "small_org.txt").write_text(str(small))
    return folder


@pytest.fixture(scope="module")
def study_html(study_dir) -> str:
    return study_report_html(load_study(study_dir / "study.yaml"), study_path=str(study_dir / "study.yaml"))


def _cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html)


# ------------------------------------------------------------------------------ formatting
def test_table_cells_are_apa_and_never_none_nan_or_e_notation():
    assert fmt.p_cell(1.6e-83) == "< .001" and fmt.p_cell(0.04213) == ".042" and fmt.p_cell(1.0) == "1.000"
    assert fmt.p_cell(None) == "" and fmt.p_cell(float("nan")) == ""
    assert fmt.cell(-0.0001) == "0.00" and fmt.cell(0.8234, bounded=True) == ".82"
    assert fmt.cell(-0.05, bounded=True) == "-.05" and fmt.cell(3.456, 1) == "3.5"
    assert fmt.cell(None) == "" and fmt.cell(float("nan")) == "" and fmt.cell(pd.NA) == ""
    assert fmt.ci_text(-0.0004, 0.512, bounded=True) == "[.00, .51]" and fmt.ci_text(1, None) == ""
    assert fmt.count(1500) == "1,500" and fmt.count(np.nan) == "" and fmt.percent(0.873) == "87%"
    assert fmt.num(0.5) == ".50" and fmt.p_text(0.0001) == "p < .001"  # the readings' helpers unchanged


# ------------------------------------------------------------------------------ study report (HTML)
def test_study_report_holds_the_study_tables_in_the_agenda_order(study_dir, study_html):
    for heading in ["1. Data", "2. Measurement", "3. Research topic 1", "4. Research topic 2", "5. Research topic 3",
                    "Data summary", "Distribution of the scale scores", "Barriers, enablers and challenges, ranked",
                    "Perceived outcomes, ranked", "Benefits and challenges by element",
                    "Reliability of the scales", "Agreement within org_id", "Readiness index by org_id",
                    "Fixed effects: dc_engagement ~ cwc_readiness_index", "Fixed effects: any_digital ~ any_offline",
                    "Benchmark over the groups shown"]:
        assert heading in study_html, heading
    # citizens' blocks follow their demographics first, so none lies inside one municipality (as `aggregate`)
    assert "No group of municipality_id has 5 or more respondents" in study_html
    order = [study_html.index(h) for h in ["1. Data", "2. Measurement", "3. Research topic 1", "4. Research topic 2",
                                           "5. Research topic 3"]]
    assert order == sorted(order)
    surveys = load_surveys(load_study(study_dir / "study.yaml"))
    for survey in surveys:
        for construct in survey.instrument.constructs:
            assert construct.label in study_html, construct.label
    cells = _cells(study_html)
    assert cells and not [c for c in cells if c in ("None", "nan", "NaN", "n/a") or re.search(r"\de-\d", c)]
    assert not [c for c in cells if re.fullmatch(r"-0(\.0+)?", c)]  # a rounded zero has no sign
    # self-contained: no script or style is fetched, plotly.js is there once
    assert not re.search(r"<script[^>]+src=", study_html) and "<link" not in study_html
    assert study_html.count("plotly.js v") == 1


def _command_json(*argv: str) -> dict:
    """Run ``python -m analysis ARGV`` in this process and read its JSON."""
    import contextlib
    import io
    import json

    from analysis.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0
    return json.loads(out.getvalue())


def test_reliability_row_equals_the_reliability_command(study_dir, study_html):
    alpha = _command_json("reliability", str(study_dir / "study.yaml"), "--survey", "servants",
                          "--scale", "digital_skills")["alpha"]
    row = re.search(r"<td>Digital skills and self-efficacy</td>(.*?)</tr>", study_html).group(1)
    assert f"<td class=\"num\">{fmt.cell(alpha, bounded=True)}</td>" in row


def test_topic_one_row_equals_the_topics_command(study_dir, study_html):
    table = _command_json("topics", str(study_dir / "study.yaml"), "--survey", "citizens",
                          "--section", "distributions")["table"]
    skills = next(r for r in table if r["construct"] == "digital_skills")
    start = study_html.index("Knowledge, skills and attitudes: Citizens")
    row = re.search(r"<td>Digital skills</td>(.*?)</tr>", study_html[start:]).group(1)
    assert f"<td class=\"num\">{fmt.count(skills['n'])}</td>" in row
    assert f"<td class=\"num\">{fmt.cell(skills['mean'])}</td>" in row
    assert f"<td class=\"num\">{fmt.ci_text(skills['q1'], skills['q3'])}</td>" in row


def test_small_groups_never_appear_with_a_number(study_dir, study_html):
    small = (study_dir / "small_org.txt").read_text()
    row = re.search(rf"<tr><td>{small}</td>(.*?)</tr>", study_html)
    assert row is not None and "not shown" in row.group(1)
    assert not re.search(r"\d", row.group(1))


def test_study_report_pdf_is_a_real_pdf(tmp_path, study_html, chromium):
    path = html_to_pdf(study_html, tmp_path / "report.pdf")
    reader = PdfReader(str(path))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3
    assert "Reliability of the scales" in text and "Readiness index by org_id" in text
    assert "Usual minimum (.70)" in text and "Median of the groups shown" in text  # charts drawn before printing


def test_report_command_writes_the_library_file(study_dir, study_html, tmp_path):
    out = tmp_path / "report.html"
    written = _command_json("report", str(study_dir / "study.yaml"), "--out", str(out))["written"]
    assert str(out) in written
    assert out.read_text(encoding="utf-8") == study_html


def test_report_of_a_data_file_with_an_instrument_and_its_charts(tmp_path, chromium):
    written = _command_json("report", str(SAMPLE / "citizens.csv"), "--instrument", "citizen", "--out",
                            str(tmp_path / "c.html"), "--charts", str(tmp_path / "charts"))["written"]
    html = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "Reliability of the scales" in html and "citizens.csv --instrument citizen" in html
    assert "No survey of this study has readiness dimensions" in html
    from PIL import Image

    png = next(Path(p) for p in written if p.endswith(".png"))
    assert png.stem == "reliability-citizen" and Image.open(png).format == "PNG"
    assert (tmp_path / "charts" / "reliability-citizen.svg").read_text().lstrip().startswith("<svg")


# ------------------------------------------------------------------------------ bad input
def test_study_without_scales_says_what_is_missing(tmp_path):
    (tmp_path / "s.yaml").write_text(f"title: No scales\nsurveys:\n  - name: bare\n"
                                     f"    file: {SAMPLE / 'citizens.csv'}\n    groups: [municipality_id]\n")
    html = study_report_html(load_study(tmp_path / "s.yaml"))
    assert "This survey has no scales" in html and "Respondents" in html
    assert "No survey of this study has scales of research topic 1" in html
    assert "No survey of this study has readiness dimensions" in html


def test_only_suppressed_groups_says_so(study_dir):
    study = load_study(study_dir / "study.yaml")
    biggest = int(pd.read_csv(study_dir / "servants.csv")["org_id"].value_counts().max())
    report = build_study_report(study, min_n=biggest + 1, surveys=load_surveys(study, names=["servants"]))
    missing = [m for s in report.sections for m in s.missing]
    assert any(m.startswith(f"Every group of org_id has fewer than {biggest + 1} respondents") for m in missing)
    assert any(m.startswith("No group of org_id has") for m in missing)
    assert not any(t.caption.startswith(("Readiness index by", "Agreement within org_id"))
                   for s in report.sections for t in s.tables)


def test_failed_analysis_is_reported_not_raised(study_dir, monkeypatch):
    from analysis.report import measurement

    def fails(*args, **kwargs):
        raise np.linalg.LinAlgError("singular covariance matrix")

    monkeypatch.setattr(measurement, "_reliability_row", fails)
    study = load_study(study_dir / "study.yaml")
    report = build_study_report(study, surveys=load_surveys(study, names=["citizens"]))
    missing = [m for s in report.sections for m in s.missing]
    assert any("could not be computed (singular covariance matrix)" in m for m in missing)


def test_failed_model_is_reported_not_raised(study_dir, monkeypatch):
    import analysis.mixed

    def fails(*args, **kwargs):
        raise InputError("the model did not converge: the Hessian is not positive definite")

    monkeypatch.setattr(analysis.mixed, "fit", fails)
    study = load_study(study_dir / "study.yaml")
    html = study_report_html(study, surveys=load_surveys(study, names=["citizens"]))
    assert "The model could not be fitted: the model did not converge" in html
    assert "Reliability of the scales" in html  # the rest of the report is there


def test_model_terms_of_small_categories_are_not_shown():
    from analysis.report.models import _small_terms

    frame = pd.DataFrame({"gender": ["Man"] * 10 + ["Woman"] * 8 + ["Other"] * 2, "age_c10": np.arange(20.0)})
    assert _small_terms(frame, 5) == {"genderOther": 2}


def test_no_chromium_gives_a_clear_message_and_the_html(study_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_CHROMIUM", str(tmp_path / "no-chromium"))
    study = load_study(study_dir / "study.yaml")
    surveys = load_surveys(study, names=["citizens"])
    with pytest.raises(InputError, match="chromium is not installed.*HTML report was written"):
        write_study_report(study, tmp_path / "r.pdf", surveys=surveys)
    assert "Reliability of the scales" in (tmp_path / "r.html").read_text(encoding="utf-8")
    with pytest.raises(InputError, match="chromium"):
        write_organisation_reports(study, tmp_path / "orgs", survey="servants")


# ------------------------------------------------------------------------------ organisation reports
def _pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)


def test_small_organisation_report_shows_no_scores(study_dir, tmp_path, chromium):
    small = (study_dir / "small_org.txt").read_text()
    study = load_study(study_dir / "study.yaml")
    rows = write_organisation_reports(study, tmp_path, survey="servants", only=[small])
    assert len(rows) == 1 and rows[0]["suppressed"]
    text = _pdf_text(Path(rows[0]["file"]))
    assert "cannot be shown" in text
    numbers = set(re.findall(r"\d+(?:[.,]\d+)?", text))
    assert numbers <= {small, "5"}, numbers  # the organisation's id and the threshold, nothing else


def test_org_reports_command_writes_the_library_reports(study_dir, tmp_path, chromium):
    docs = organisation_documents(load_study(study_dir / "study.yaml"), survey="servants")
    shown = next(g for g, suppressed, _ in docs if not suppressed)
    _command_json("org-reports", str(study_dir / "study.yaml"), "--survey", "servants", "--group", "org_id",
                  "--out", str(tmp_path), "--org", str(shown))
    pdf = tmp_path / f"organisation_{shown}.pdf"
    text = _pdf_text(pdf)
    assert "Readiness index" in text and "Where to start" in text and "Do the staff agree?" in text
    html = dict((g, h) for g, _, h in docs)[shown]
    score = re.search(r"<td>Readiness index</td><td class=\"num\">(\d+)</td>", html).group(1)
    assert re.search(rf"Readiness index\s+{score}\b", text)
    _command_json("org-reports", str(study_dir / "study.yaml"), "--survey", "servants", "--out", str(tmp_path),
                  "--org", str(shown), "--html")
    assert (tmp_path / f"organisation_{shown}.html").read_text(encoding="utf-8") == html


def test_organisation_report_has_evidence_and_cis(study_dir):
    from analysis.report import readiness as ready
    from analysis.report.render import to_html

    survey = load_surveys(load_study(study_dir / "study.yaml"), names=["servants"])[0]
    result = ready.compute(survey, 5)
    shown = result.groups[~result.groups["suppressed"].astype(bool)]
    group = shown.sort_values("index")["group"].iloc[0]  # the least ready: somewhere to start
    html = to_html(organisation_report(result, group))
    assert "Clifton" in html and "95% CI" in html and re.search(r"\[\d+, \d+\]", html)
    assert "<svg" in html and "<script" not in html  # drawn without scripts: prints quickly


# ------------------------------------------------------------------------------ static charts
def test_chart_export_writes_real_png_and_svg_with_title_and_legend(tmp_path, chromium):
    from PIL import Image

    from analysis.report.charts import reliability_figure

    fig = reliability_figure([("Scale A", 0.81, (0.78, 0.84)), ("Scale B", 0.66, (0.60, 0.71))])
    png, svg = export_figure(fig, tmp_path / "alpha", width=700, height=300, scale=2)
    image = Image.open(BytesIO(png.read_bytes()))
    assert image.format == "PNG" and image.size == (1400, 600)
    root = ET.fromstring(svg.read_bytes())
    assert root.tag.endswith("svg")
    texts = " ".join(t for t in root.itertext())
    assert "Reliability of the scales" in texts and "Usual minimum (.70)" in texts  # title and legend inside
    height = float(root.get("height"))
    legend = next(el for el in root.iter() if el.get("class") == "legend")
    y = float(re.search(r"translate\([\d.]+,\s*([\d.]+)\)", legend.get("transform")).group(1))
    assert 0 < y < height  # the legend is drawn inside the image


def test_threshold_can_be_raised_never_lowered(monkeypatch):
    from analysis.report.study import study_min_n
    from analysis.study import parse_study

    strict = parse_study(f"title: T\nmin_n: 10\nsurveys:\n  - name: s\n    file: {SAMPLE / 'citizens.csv'}\n"
                         "    instrument: citizen\n")
    assert study_min_n(strict, 5) == 10 and study_min_n(strict, 20) == 20 and study_min_n(strict) == 10
    monkeypatch.setenv("COPROD_MIN_N_FLOOR", "12")
    assert study_min_n(strict) == 12


def test_download_bytes_from_uploads_equal_the_command_files(study_dir, study_html):
    """What a page's download button gives (the data as uploaded bytes) is the command's file."""
    from analysis.report import organisation_report_bytes, study_report_bytes

    path = str(study_dir / "study.yaml")
    study = load_study(path)
    contents = {"servants": (study_dir / "servants.csv").read_bytes(),
                "citizens": (SAMPLE / "citizens.csv").read_bytes()}
    surveys = load_surveys(study, study_path=path, contents=contents)
    assert study_report_bytes(study, study_path=path, surveys=surveys) == study_html.encode("utf-8")
    small = (study_dir / "small_org.txt").read_text()
    html = organisation_report_bytes(study, small, pdf=False, survey="servants",
                                     prepared={"servants": _prepared(study, "servants")}).decode("utf-8")
    assert html == dict((str(g), h) for g, _, h in organisation_documents(study, survey="servants"))[small]
    assert "cannot be shown" in html


def _prepared(study, name):
    from analysis.pipeline import prepare_survey

    return prepare_survey(study, name)


def test_organisation_report_names_the_organisation_from_the_lookup():
    lookup = pd.read_csv(SAMPLE / "organisations.csv")
    org = int(lookup["id"].iloc[1])
    docs = organisation_documents(load_study(SAMPLE / "study.yaml"), only=[org])
    assert f"{lookup['name'].iloc[1]} (org_id {org})" in docs[0][2]
