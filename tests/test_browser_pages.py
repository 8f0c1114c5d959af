"""End to end: every page of the dashboard opens on the sample data in a real browser
without an exception element, and the first screen shows the sample study."""
from __future__ import annotations

import re

import pytest

from e2e import screenshot, wait_for_app

def _pages_present():
    """(url path, title) of every page app.py lists and whose file exists."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    # app.py runs streamlit when imported, so its SECTIONS table is read as text.
    text = (root / "app.py").read_text()
    entries = re.findall(r'\("(pages/[a-z_]+\.py)", "([^"]+)", "[^"]+",\s*"([a-z_]+)"\)', text)
    return [(url, title) for path, title, url in entries if (root / path).exists()]


def test_first_screen_shows_sample(page, dashboard):
    page.goto(dashboard)
    wait_for_app(page)
    body = page.inner_text("body")
    assert "Digital co-production survey dashboard" in body
    assert "sample study" in body
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    screenshot(page, "overview")


@pytest.mark.parametrize("url,title", _pages_present())
def test_every_page_opens_without_error(page, dashboard, url, title):
    page.goto(f"{dashboard}/{url}")
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0, f"exception on page {title}"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"error box on page {title}: {errors.first.inner_text()}"
    # The page rendered real content, not an empty shell.
    assert len(page.inner_text('[data-testid="stMainBlockContainer"]')) > 200
    screenshot(page, f"page_{url}")
