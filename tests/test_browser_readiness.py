"""End to end: a readiness link opened in a fresh browser context (a colleague with no
session) shows the organisation in its query string (by id or by name); a small organisation's
link shows the privacy message and no score; a link with an organisation that does not exist
opens the default view cleanly; the page's own "share this view" link reopens the same view;
switching the benchmark to the same type of organisation changes the comparison."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis.readiness import readiness
from conftest import ROOT
from e2e import screenshot, wait_for_app
from ui import state

MIN_N = 5
NAMES = pd.read_csv(ROOT / "sample_data" / "organisations.csv").set_index("id")["name"].to_dict()


@pytest.fixture(scope="module")
def result():
    data = state.prepare(state.sample_source("public_servant")).data
    return readiness(data, state.instrument("public_servant"), "org_id", min_n=MIN_N)


def _open(page, dashboard, query: str = "") -> None:
    page.goto(f"{dashboard}/readiness{query}")
    wait_for_app(page)
    page.wait_for_selector('[data-testid="stSelectbox"]')
    assert page.locator('[data-testid="stException"]').count() == 0
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()


def _picked(page) -> str:
    """The organisation shown in the picker (a combobox input in Streamlit 1.67)."""
    return page.locator('[data-testid="stSelectbox"] input[role="combobox"]').first.input_value()


def _index_metric(page) -> str:
    metric = page.locator('[data-testid="stMetric"]', has_text="Readiness index").first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_link_opens_that_organisation(page, dashboard, result):
    org = 103
    _open(page, dashboard, f"?org={org}")
    row = result.groups.set_index("group").loc[org]
    assert _picked(page) == NAMES[org]
    assert _index_metric(page) == f"{row['index']:.1f}"
    assert page.get_by_role("heading", name=NAMES[org]).count() == 1
    page.wait_for_selector('[data-testid="stPlotlyChart"]')
    page.locator('[data-testid="stPlotlyChart"]').nth(2).wait_for()
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 3  # radar, bars, questions
    screenshot(page, "readiness_org_103")


def test_small_organisation_link_shows_no_score(page, dashboard, result):
    small = result.groups.loc[result.groups["suppression"] == "primary", "group"].tolist()
    assert small
    org = small[0]
    _open(page, dashboard, f"?org={org}")
    assert _picked(page) == NAMES[org]
    body = page.inner_text('[data-testid="stMainBlockContainer"]')
    assert f"Fewer than {MIN_N} respondents answered in organisation {NAMES[org]}" in body
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    assert page.locator('[data-testid="stDownloadButton"]').count() == 0
    # nothing formatted like a score (the share link's host address aside)
    assert not re.search(r"\d+\.\d", body.replace(dashboard, ""))
    screenshot(page, f"readiness_org_{org}_small")


def test_unknown_org_in_url_says_so_and_shows_no_other_organisation(page, dashboard, result):
    _open(page, dashboard, "?org=no-such-org")
    warning = page.locator('[data-testid="stAlertContentWarning"]', has_text="no-such-org")
    warning.first.wait_for(timeout=60_000)
    assert "There is no organisation" in warning.first.inner_text()
    assert page.locator('[data-testid="stMetric"]').count() == 0  # nobody else's scores
    assert _picked(page) == ""
    screenshot(page, "readiness_unknown_org")


def test_share_box_link_reopens_the_view(page, browser, dashboard, result):
    org = 110
    _open(page, dashboard, f"?org={org}")
    link = page.locator('[data-testid="stCode"]', has_text="?org=").first.inner_text().strip()
    assert link.endswith(f"/readiness?org={org}")
    colleague = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = colleague.new_page()
        other.set_default_timeout(60_000)
        other.goto(link)
        wait_for_app(other)
        other.wait_for_selector('[data-testid="stMetric"]')
        assert _picked(other) == NAMES[org]
        row = result.groups.set_index("group").loc[org]
        assert _index_metric(other) == f"{row['index']:.1f}"
    finally:
        colleague.close()


def test_link_as_first_request_gets_the_dashboard_navigation(page, fresh_dashboard):
    """A shared link opened before anyone opened "/" must still run app.py (its navigation and
    wide layout), not only the page file on its own."""
    _open(page, fresh_dashboard, "?org=103")
    assert _picked(page) == NAMES[103]
    sidebar = page.inner_text('[data-testid="stSidebar"]')
    screenshot(page, "readiness_first_request")
    assert "Organisation readiness" in sidebar, f"page ran without app.py's navigation: {sidebar!r}"


def test_link_by_name_then_same_type_benchmark(page, dashboard, result):
    """A practitioner opens their organisation by its name from a link and switches the
    benchmark to organisations of the same type."""
    _open(page, dashboard, "?org=Cindervale%20Town%20Hall")
    assert _picked(page) == "Cindervale Town Hall"
    row = result.groups.set_index("group").loc[103]
    assert _index_metric(page) == f"{row['index']:.1f}"
    page.get_by_text("Same type of organisation").click()
    against = "Benchmark against organisations of the same type (Municipal administration)"
    heading = page.get_by_role("heading", name=against)
    heading.wait_for(timeout=60_000)
    screenshot(page, "readiness_same_type")


def test_uploaded_waves_show_the_change_since_the_last_wave(page, dashboard):
    """A two-wave file loaded on the Data page: the readiness view (reached through the
    navigation, same session) shows the change since the last wave, also against the same type."""
    page.goto(f"{dashboard}/data")
    wait_for_app(page)
    page.get_by_role("region", name="Upload a survey file").get_by_test_id(
        "stFileUploaderDropzoneInput").set_input_files(files=[{
            "name": "public_servants_waves.csv", "mimeType": "text/csv",
            "buffer": (ROOT / "sample_data" / "public_servants_waves.csv").read_bytes()}])
    page.locator('[data-testid="stAlertContentSuccess"]', has_text="public_servants_waves.csv").first.wait_for(
        timeout=120_000)
    wait_for_app(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("Organisation readiness").click()
    wait_for_app(page)
    change = page.get_by_role("heading", name="Change since the previous wave (2024 to 2025)")
    change.wait_for(timeout=120_000)
    page.get_by_text("Same type of organisation").click()
    page.get_by_role("heading", name=re.compile("Benchmark against organisations of the same type")).wait_for(
        timeout=60_000)
    assert change.count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "readiness_waves")


def test_saved_two_wave_study_by_name_from_a_link(page, tmp_path):
    """Issue 13's practitioner in one go: a saved study (two waves, with its lookup of names) opened
    from a link that names the study and the organisation; the benchmark switched to the same
    type; the change since the previous wave shown."""
    from e2e import running_dashboard
    from store import Store

    study = ("title: Waves pilot\nsurveys:\n  - name: public_servant\n    file: public_servants_waves.csv\n"
             "    instrument: public_servant\n    lookup: {file: organisations.csv, column: org_id}\n")
    files = {name: (ROOT / "sample_data" / name).read_bytes()
             for name in ("public_servants_waves.csv", "organisations.csv")}
    Store(tmp_path / "dashboard.sqlite3").save_study("Waves pilot", study, files, min_n=5)
    with running_dashboard(tmp_path) as url:
        _open(page, url, "?study=waves-pilot&org=Cindervale%20Town%20Hall")
        assert _picked(page) == "Cindervale Town Hall"
        change = page.get_by_role("heading", name="Change since the previous wave (2024 to 2025)")
        change.wait_for(timeout=120_000)
        page.get_by_text("Same type of organisation").click()
        page.get_by_role("heading", name=re.compile(r"same type \(Municipal administration\)")).wait_for(
            timeout=60_000)
        assert change.count() == 1 and "study=waves-pilot" in page.url
        assert page.locator('[data-testid="stException"]').count() == 0
        screenshot(page, "readiness_saved_waves_link")
