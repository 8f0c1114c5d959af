"""HTML to PDF through Debian's chromium, headless (``--print-to-pdf``), nothing downloaded.

The browser is ``COPROD_CHROMIUM`` if set, else ``/usr/bin/chromium`` (``chromium`` on the
PATH). Charts are drawn by plotly.js inside the page before printing (a virtual-time budget
lets the scripts finish). A missing browser or a failed print raises ``InputError`` with a
one-line message; the HTML report never needs chromium.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from analysis.errors import InputError

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--disable-extensions",
         "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=15000"]
TIMEOUT = 180


def chromium_path() -> str | None:
    """The chromium executable to use, or None when there is none."""
    configured = os.environ.get("COPROD_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium")


def require_chromium() -> str:
    """The chromium executable, or ``InputError`` saying how to get one."""
    path = chromium_path()
    if path is None:
        raise InputError("cannot render the PDF: chromium is not installed "
                         f"({os.environ.get('COPROD_CHROMIUM') or CHROMIUM} not found)",
                         hint="install Debian's chromium (apt-get install chromium, or bash "
                              "scripts/install-system-deps.sh) or set COPROD_CHROMIUM; the HTML report works "
                              "without it")
    return path


def html_to_pdf(html: str, out: str | Path) -> Path:
    """Print ``html`` (a complete document) to the PDF file ``out`` with headless chromium.

    Parameters
    ----------
    html : str
        The document; it must not need the network (the reports include plotly.js).
    out : str or Path
        The PDF file written (its folder must exist).

    Returns
    -------
    Path
        ``out``.
    """
    return htmls_to_pdfs([(html, Path(out))])[0]


def htmls_to_pdfs(documents: list[tuple[str, Path]], workers: int | None = None) -> list[Path]:
    """Print several documents, ``workers`` chromium processes at a time (default: one per CPU,
    at most 4), for the organisation reports."""
    from concurrent.futures import ThreadPoolExecutor

    workers = workers or min(4, os.cpu_count() or 1)
    browser = require_chromium()
    with tempfile.TemporaryDirectory(prefix="coprod-pdf-") as tmp:
        def one(i: int) -> Path:
            html, out = documents[i]
            out = Path(out)
            page = Path(tmp) / f"page{i}.html"
            page.write_text(html, encoding="utf-8")
            profile = Path(tmp) / f"profile{i}"
            target = out.resolve()
            target.unlink(missing_ok=True)
            cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={target}", page.as_uri()]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise InputError(f"chromium did not print the PDF within {TIMEOUT} s", file=out.name) from None
            except OSError as exc:
                raise InputError(f"cannot run chromium ({exc.strerror})", file=browser,
                                 hint="check the chromium installation or set COPROD_CHROMIUM") from None
            if not target.is_file() or target.stat().st_size == 0:
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise InputError(f"chromium did not write the PDF (exit {done.returncode}: {last})", file=out.name)
            return out

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(one, range(len(documents))))
