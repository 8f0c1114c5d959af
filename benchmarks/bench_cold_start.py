"""Cold start of the dashboard: time to first render of the first screen and of each page.

Two measurements, each on a cold process (nothing imported, nothing cached):

* ``browser`` (default): for each page a fresh ``streamlit run app.py`` (tests/e2e.py's
  ``running_dashboard``: free port, throw-away database) is started and, once its health check
  answers, Debian's chromium (Playwright, ``executable_path=/usr/bin/chromium``) opens the page's
  address as the first request the server ever gets, as a colleague opening a shared link after a
  restart. ``server`` = process start to health check; ``title`` = navigation to the page's title
  (``h1``) being visible (the pages print it before their heavy imports); ``done`` = navigation
  to the script run having finished (``data-test-script-state`` back to ``notRunning``).
* ``apptest``: a fresh Python process per page runs it once in ``streamlit.testing.v1.AppTest``
  (the page tests' harness); ``import`` = importing streamlit's testing module, ``run`` = the first
  ``AppTest.run()`` of the page (its imports, the sample study's preparation, the analyses).

    python benchmarks/bench_cold_start.py                    # browser, every page, 1 round
    python benchmarks/bench_cold_start.py --mode apptest --repeats 3
    python benchmarks/bench_cold_start.py --pages overview readiness --markdown

Prints one row per page (median over ``--repeats``); ``--markdown`` prints the table for
``benchmarks/RESULTS.md``. Timings on a shared machine are noisy: compare runs made together.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

# url path -> page file; "" is the first screen (app.py's default page, the overview).
PAGES = {"": "pages/overview.py", "overview": "pages/overview.py", "data": "pages/data.py",
         "measurement": "pages/measurement.py", "models": "pages/models.py",
         "topic_skills": "pages/topic_skills.py", "topic_resources": "pages/topic_resources.py",
         "topic_drivers": "pages/topic_drivers.py", "readiness": "pages/readiness.py"}

APPTEST_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
t1 = time.perf_counter()
at = AppTest.from_file(sys.argv[1], default_timeout=600)
at.run()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "run": t2 - t1, "exception": bool(at.exception)}))
"""


def _browser_once(url_path: str, browser) -> dict:
    from e2e import running_dashboard

    with tempfile.TemporaryDirectory() as tmp:
        t_start = time.perf_counter()
        with running_dashboard(Path(tmp)) as url:
            t_up = time.perf_counter()
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            pg = context.new_page()
            pg.set_default_timeout(600_000)
            t0 = time.perf_counter()
            pg.goto(f"{url}/{url_path}")
            pg.wait_for_selector("h1", state="visible")
            t_title = time.perf_counter()
            # finished: script state notRunning and still so 0.75 s later (a rerun may follow)
            done_at = None
            while True:
                state = pg.get_attribute('[data-testid="stApp"]', "data-test-script-state")
                now = time.perf_counter()
                if state != "notRunning":
                    done_at = None
                elif done_at is None:
                    done_at = now
                elif now - done_at > 0.75:
                    break
                if now - t0 > 600:
                    raise RuntimeError(f"/{url_path} did not finish in 600 s")
                pg.wait_for_timeout(50)
            errors = pg.locator('[data-testid="stException"]').count()
            context.close()
    return {"server": t_up - t_start, "title": t_title - t0, "done": done_at - t0, "exception": errors > 0}


def _apptest_once(page_file: str) -> dict:
    done = subprocess.run([sys.executable, "-c", APPTEST_SNIPPET, page_file], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["browser", "apptest"], default="browser")
    parser.add_argument("--pages", nargs="+", default=None, metavar="URL_PATH",
                        help="url paths to time (default: the first screen and every page); '' or 'first' = /")
    parser.add_argument("--repeats", type=int, default=1, help="cold starts per page (median reported)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table for RESULTS.md")
    args = parser.parse_args(argv)
    targets = [("" if p == "first" else p) for p in args.pages] if args.pages else list(PAGES)
    unknown = [t for t in targets if t not in PAGES]
    if unknown:
        parser.error(f"unknown page(s): {', '.join(unknown)}; choose from {', '.join(p or 'first' for p in PAGES)}")

    rows = []
    if args.mode == "browser":
        from playwright.sync_api import sync_playwright

        from e2e import CHROMIUM, CHROMIUM_ARGS

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for target in targets:
                runs = [_browser_once(target, browser) for _ in range(args.repeats)]
                rows.append((target, runs))
                print(f"/{target}: " + ", ".join(f"{k} {statistics.median(r[k] for r in runs):.2f} s"
                                                 for k in ("server", "title", "done")), file=sys.stderr)
            browser.close()
        keys = ("server", "title", "done")
    else:
        for target in targets:
            runs = [_apptest_once(PAGES[target]) for _ in range(args.repeats)]
            rows.append((target, runs))
            print(f"{PAGES[target]}: " + ", ".join(f"{k} {statistics.median(r[k] for r in runs):.2f} s"
                                                   for k in ("import", "run")), file=sys.stderr)
        keys = ("import", "run")

    if args.markdown:
        print("| page | " + " | ".join(f"{k} (s)" for k in keys) + " | exception |")
        print("|---|" + "---:|" * len(keys) + "---|")
        for target, runs in rows:
            label = f"`/{target}`" + (" (first screen)" if target == "" else "")
            print(f"| {label} | " + " | ".join(f"{statistics.median(r[k] for r in runs):.2f}" for k in keys)
                  + f" | {any(r['exception'] for r in runs)} |")
    else:
        print(json.dumps([{"page": "/" + t, **{k: statistics.median(r[k] for r in runs) for k in keys},
                           "exception": any(r["exception"] for r in runs), "repeats": len(runs)}
                          for t, runs in rows], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
