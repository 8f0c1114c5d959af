"""The study report opens in Debian's chromium (Playwright, tests/e2e.py's flags) with no network,
no console error, its charts drawn and its tables readable: what a researcher's reader sees."""
from __future__ import annotations

import pytest

from analysis.report import study_report_html
from analysis.study import load_study
from test_report import sample_study_text, SAMPLE


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_browser")
    (folder / "study.yaml").write_text(sample_study_text(SAMPLE / "public_servants.csv"))
    path = folder / "report.html"
    path.write_text(study_report_html(load_study(folder / "study.yaml")), encoding="utf-8")
    return path


def test_report_opens_in_chromium_without_console_errors(page, report_file):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
    page.goto(report_file.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg")
    assert not problems, problems
    assert not requests, requests  # self-contained: nothing fetched
    captions = page.locator("table caption").all_inner_texts()
    assert captions.count("Reliability of the scales") == 2 and "Readiness index by org_id" in captions
    charts = page.locator(".js-plotly-plot")
    assert charts.count() == 3  # reliability of each survey, readiness of the servants
    for i in range(charts.count()):
        assert charts.nth(i).locator(".main-svg").count() >= 1
    first_row = page.locator("table").nth(2).locator("tbody tr").first.inner_text()
    assert "Digital skills" in first_row and "None" not in first_row and "nan" not in first_row
