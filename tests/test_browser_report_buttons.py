"""The report and image buttons on the screens (issue 12): the Overview's study report, the
readiness view's organisation PDF and a chart's PNG/SVG, downloaded in chromium and opened."""
from __future__ import annotations

import io

from e2e import screenshot, wait_for_app


def _download(page, button: str) -> bytes:
    target = page.get_by_role("button", name=button).first
    target.scroll_into_view_if_needed()
    try:
        with page.expect_download(timeout=180_000) as download:
            target.click()
    except Exception:
        screenshot(page, f"download_failed_{button.split()[0]}")
        raise
    path = download.value.path()
    return open(path, "rb").read()


def test_study_report_and_chart_images_download(page, dashboard):
    page.goto(f"{dashboard}/")  # the Overview is the default page: its address is the root
    wait_for_app(page)
    html = _download(page, "Download the study report (HTML)").decode("utf-8")
    assert "<html" in html.lower() and "Reliability" in html
    assert '<script src="http' not in html  # plotly.js inlined: the file opens without a network
    page.get_by_role("button", name="Save image").first.click()
    png = _download(page, "PNG")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    assert Image.open(io.BytesIO(png)).size[0] > 300


def test_organisation_report_pdf_downloads(page, dashboard):
    from pypdf import PdfReader

    page.goto(f"{dashboard}/readiness?org=103")
    wait_for_app(page)
    pdf = _download(page, "Download the organisation report (PDF)")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "readiness" in text.lower()
