"""Shared test fixtures: where the R reference values and data sets live."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))
REFERENCE_DIR = SHARED / "reference"


@pytest.fixture(scope="session")
def reference() -> dict:
    """The R reference values (``shared/reference/reference.json``)."""
    path = REFERENCE_DIR / "reference.json"
    if not path.exists():
        pytest.fail(f"reference values not found at {path}: clone with ../shared beside the repo "
                    "or set SHARED_DIR")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def reference_data():
    """Loader for the reference CSVs by name, e.g. ``reference_data('bfi')``."""
    cache: dict[str, pd.DataFrame] = {}

    def load(name: str) -> pd.DataFrame:
        if name not in cache:
            cache[name] = pd.read_csv(REFERENCE_DIR / "data" / f"{name}.csv")
        return cache[name].copy()

    return load


BROWSER_FIXTURES = {"browser", "page", "dashboard", "fresh_dashboard"}


def pytest_collection_modifyitems(config, items):
    """Every test in ``tests/test_browser_*.py``, and any other test using the real server or the
    browser (tests/e2e.py's fixtures), is a browser test: ``-m "not browser"`` skips them.

    The files holding browser tests run first. They are the longest (a server, a browser, a page run
    per step), and pytest-xdist (pytest.ini: ``--dist loadfile --no-loadscope-reorder``) hands files
    to its workers in this order, so both workers start on the long files and the short ones fill
    the end, instead of one worker running a two-minute file alone at the end. The order of the
    tests inside a file is kept."""
    browser_files = set()
    for item in items:
        if item.path.name.startswith("test_browser_") or BROWSER_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.browser)
            browser_files.add(item.path)
    items.sort(key=lambda item: item.path not in browser_files)  # stable: files and tests keep their order


# The real dashboard server and browser fixtures for end-to-end tests (tests/e2e.py).
from e2e import browser, dashboard, fresh_dashboard, page  # noqa: E402,F401
