"""A real dashboard server and a real browser for the end-to-end tests.

``dashboard`` starts ``streamlit run app.py`` on a free port (with a throw-away database)
and ``browser`` drives Debian's chromium through Playwright; nothing is downloaded.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
# Flags that keep chromium from reaching out to a network the test machine does not have.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_dashboard(workdir: Path) -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free port with a throw-away database; yield its URL.

    Several servers may start at once (pytest-xdist's workers, see pytest.ini): a port found free
    can be taken before streamlit binds it, so the server counts as started only when its own log
    says it listens on that port (not merely when something answers there), and a port lost to
    another process is retried with a new one."""
    env = dict(os.environ, COPROD_DB=str(workdir / "dashboard.sqlite3"))
    log_path = workdir / "streamlit.log"
    for attempt in range(5):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                 "--server.address", "127.0.0.1", "--server.headless", "true",
                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            if not _started(proc, url, log_path, port):
                if attempt < 4 and "not available" in log_path.read_text():
                    continue  # the port was taken meanwhile: another one
                pytest.fail(f"the dashboard did not start: see {log_path}")
            yield url
            return
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _started(proc: subprocess.Popen, url: str, log_path: Path, port: int) -> bool:
    """Wait (up to 60 s) until this process serves ``url``; False when it exits or times out."""
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            if f"127.0.0.1:{port}" in log_path.read_text() and proc.poll() is None:
                return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory):
    """Base URL of a running dashboard on the bundled sample data, shared by the session."""
    with running_dashboard(tmp_path_factory.mktemp("dashboard")) as url:
        yield url


@pytest.fixture
def fresh_dashboard(tmp_path):
    """A dashboard nobody has opened yet, so the first request is the test's own, as for a
    colleague opening a shared link after a server restart."""
    with running_dashboard(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: run scripts/install-system-deps.sh")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies, no session) per test, as a colleague opening a link."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def wait_for_app(pg, timeout_s: float = 120) -> None:
    """Wait until streamlit has finished running the script for the current page.

    ``stApp`` carries the script state in ``data-test-script-state``; the page is done when
    it has been ``notRunning`` for a moment (a widget change may start another run).
    """
    pg.wait_for_selector('[data-testid="stApp"]')
    deadline = time.time() + timeout_s
    quiet_since = None
    while time.time() < deadline:
        script_state = pg.get_attribute('[data-testid="stApp"]', "data-test-script-state")
        if script_state != "notRunning":
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > 0.75:
            return
        pg.wait_for_timeout(150)
    raise AssertionError(f"the page kept running for {timeout_s:.0f} s")


def screenshot(pg, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path
