"""End to end (issue 11): an owner's study travels in its link, a viewer link opens only the
aggregated screens of that study, survives a server restart, and stops at revocation.

The owner uploads a study made here from the sample (some organisations cut, one left with two
people, so its numbers differ from the bundled sample's), saves it, opens the readiness view of
one organisation and makes a viewer link in the sidebar. A second browser context (a colleague
with no session) opens that link and must see the same organisation and numbers, and none of:
the Data page, row downloads, residuals, the small organisation's scores, other saved studies.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from e2e import running_dashboard, screenshot, wait_for_app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "public_servants.csv"
STUDY_YAML = ("title: Readiness pilot\nmin_n: 5\nsurveys:\n  - name: public_servant\n    file: pilot.csv\n"
              "    instrument: public_servant\n")


@pytest.fixture(scope="module")
def pilot() -> tuple[bytes, str, str]:
    """The study .zip, a large organisation and the organisation left with two respondents."""
    data = pd.read_csv(SAMPLE)
    sizes = data["org_id"].value_counts()
    big, tiny = str(sizes.index[0]), str(sizes.index[1])
    keep = data[(data["org_id"].astype(str) != tiny) | (data.groupby("org_id").cumcount() < 2)]
    keep = keep.iloc[40:]  # the first 40 respondents cut too, so every number moves a little
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("study.yaml", STUDY_YAML)
        archive.writestr("pilot.csv", keep.to_csv(index=False))
    assert (keep["org_id"].astype(str) == tiny).sum() == 2
    return buffer.getvalue(), big, tiny


def _body(page) -> str:
    return page.inner_text("body")


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _index(page) -> str:
    metric = page.locator('[data-testid="stMetric"]', has_text="Readiness index").first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    _no_exception(page)


def _viewer_link(page) -> str:
    page.get_by_role("button", name="Make a viewer link").click()
    wait_for_app(page)
    codes = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]')
    links = [c.inner_text().strip() for c in codes.all()]
    viewer = [u for u in links if "view=" in u]
    assert viewer, links
    return viewer[-1]


def test_owner_shares_a_viewer_link_that_sees_only_aggregates(tmp_path, pilot, browser):
    bundle, big, tiny = pilot
    # one browser (tests/e2e.py's), one context per person
    owner = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    owner.set_default_timeout(60_000)
    with running_dashboard(tmp_path) as url:
        # the owner opens the study file on the Data page and saves it twice under two names
        _open(owner, f"{url}/data")
        owner.get_by_role("region", name=re.compile("Open a study file")).get_by_test_id(
            "stFileUploaderDropzoneInput").set_input_files(
            files=[{"name": "study.zip", "mimeType": "application/zip", "buffer": bundle}])
        owner.get_by_text("Opened the study").first.wait_for(timeout=120_000)
        wait_for_app(owner)
        for name in ("Other private study", "Readiness pilot"):
            owner.get_by_role("textbox", name="Save this study as").fill(name)
            owner.get_by_role("textbox", name="Save this study as").press("Enter")
            wait_for_app(owner)
            owner.get_by_role("button", name="Save study").click()
            owner.get_by_text(f"Saved as “{name}”").first.wait_for()
            wait_for_app(owner)
        assert "study=readiness-pilot" in owner.url
        # the owner's link to one organisation's readiness, opened as a new page load
        _open(owner, f"{url}/readiness?study=readiness-pilot&org={big}")
        owner_index = _index(owner)
        link = _viewer_link(owner)
        assert f"org={big}" in link and "/readiness" in link and "study=" not in link
        screenshot(owner, "sharing_owner_readiness")

        viewer_context = browser.new_context(viewport={"width": 1400, "height": 1000})
        viewer = viewer_context.new_page()
        viewer.set_default_timeout(60_000)
        _open(viewer, link)
        assert _index(viewer) == owner_index
        assert big in viewer.locator('[data-testid="stSelectbox"] input[role="combobox"]').first.input_value()
        screenshot(viewer, "sharing_viewer_readiness")
        token = re.search(r"view=([^&]+)", link).group(1)
        # the small organisation: no score, only the privacy message
        _open(viewer, f"{url}/readiness?view={token}&org={tiny}")
        assert "Fewer than" in _body(viewer)
        assert viewer.locator('[data-testid="stMetric"]', has_text="Readiness index").count() == 0
        # no Data page: not in the menu, and refused when typed
        assert viewer.locator('[data-testid="stSidebarNav"]').get_by_text("Load and check data").count() == 0
        _open(viewer, f"{url}/data?view={token}")
        body = _body(viewer)
        assert "Upload a survey file" not in body and "Other private study" not in body
        assert viewer.locator('[data-testid="stFileUploader"]').count() == 0
        # the models page: tables, but no model data download and no residuals
        _open(viewer, f"{url}/models?view={token}")
        body = _body(viewer)
        assert "Fixed effects" in body or "fixed effects" in body.lower()
        assert "Residuals vs fitted" not in body and "model's own columns" not in body
        assert "Other private study" not in body
        screenshot(viewer, "sharing_viewer_models")
        # editing the address does not turn the session into the owner's
        viewer.goto(f"{url}/data?view={token}&study=other-private-study")
        wait_for_app(viewer)
        assert "Upload a survey file" not in _body(viewer)

    # a restart: the same database, a new server process; the link still opens the same view
    with running_dashboard(tmp_path) as url2:
        moved = re.sub(r"^http://[^/]+", url2, link)
        _open(viewer, moved)
        assert _index(viewer) == owner_index
        # the owner revokes the link on the Data page; the link then shows only the message
        _open(owner, f"{url2}/data?study=readiness-pilot")
        owner.get_by_role("button", name="Revoke").click()
        owner.get_by_text("no longer opens the study").first.wait_for()
        fresh = browser.new_context().new_page()
        fresh.set_default_timeout(60_000)
        _open(fresh, moved)
        body = _body(fresh)
        assert "revoked" in body
        assert fresh.locator('[data-testid="stMetric"]').count() == 0
        assert fresh.locator('[data-testid="stSidebarNav"]').count() == 0 or "Readiness index" not in body
        screenshot(fresh, "sharing_revoked")
        # an owner's link to a study that does not exist says so and shows nothing else
        _open(fresh, f"{url2}/readiness?study=no-such-study&org={big}")
        assert "does not exist" in _body(fresh)
        assert fresh.locator('[data-testid="stMetric"]').count() == 0
