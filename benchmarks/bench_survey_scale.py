"""National-survey scale: 600,000 public servants in 2,000 organisations, project vs R.

    python benchmarks/bench_survey_scale.py generate [--out DIR]   # writes DIR/servants_600k.csv (+ .parquet)
    python benchmarks/bench_survey_scale.py run [--out DIR] [--code DIR] [--label after] [--skip-r]

``generate`` draws the study from the bundled sample's own population model
(``sample_data/generate.py``, ``simulate``) with the design enlarged to 2,000 organisations
and 600,000 servants (the seed and every other parameter as in the sample). ``run`` times,
each as a whole process (``/usr/bin/time -v``: CPU = user + system, peak RSS), in the same
run, every command with ``--instrument public_servant`` next to the R call a user would make:

* ``reliability`` of one construct            vs ``psych::alpha``
* ``aggregate`` rwg(j)/ICC by organisation     vs ``multilevel::rwg.j`` + ``ICC1``/``ICC2``
* ``factor`` one-factor CFA                    vs ``lavaan::cfa``
* ``mixed`` random intercept by organisation   vs ``lmerTest::lmer``
* ``readiness`` by organisation                (no single R call; R side left blank)

R reads the CSV with ``data.table::fread`` when installed, else ``read.csv``. ``--code DIR``
times the commands of another checkout (e.g. the code before this change) on the same file.

Each project command is timed twice, with its own empty cache folder (``ANALYSIS_CACHE_DIR``
under ``--out``): *cold*, the first command on the file (nothing kept: ``reliability``,
``factor`` and ``aggregate`` read, check and score only their columns; ``mixed`` and
``readiness`` prepare the whole study and keep it), and *warm*, after the scored study was
kept (``analysis.scored_cache``), reading back only the columns the command uses. The load
average is recorded with each run. This is a benchmark, not a test: it prints a Markdown
table and writes JSON next to the data.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N_SERVANTS, N_ORGS = 600_000, 2_000

CONSTRUCT = ["ps_rdy_fin1", "ps_rdy_fin2", "ps_rdy_fin3"]
CFA_ITEMS = ["ps_dsk1", "ps_dsk2", "ps_dsk3", "ps_dsk4"]
FORMULA = "dc_engagement ~ c_digital_skills + (1 | org_id)"


def generate(out: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "sample_data"))
    import generate as gen  # sample_data/generate.py

    design = gen.POPULATION["design"]
    saved = copy.deepcopy(design)
    design.update({"n_organisations": N_ORGS, "n_servants": N_SERVANTS, "n_citizens": 40 * N_ORGS})
    try:
        servants, _, _ = gen.simulate(gen.SEED)
    finally:
        design.clear()
        design.update(saved)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "servants_600k.csv"
    servants.to_csv(path, index=False, lineterminator="\n")
    try:
        servants.to_parquet(out / "servants_600k.parquet", index=False)
    except Exception as exc:  # pyarrow missing: CSV only
        print(f"no parquet: {exc}", file=sys.stderr)
    print(f"{path}: {len(servants):,} rows, {servants.shape[1]} columns, {path.stat().st_size / 1e6:.0f} MB")
    return path


def _project_commands(data: Path) -> dict[str, list[str]]:
    base = [sys.executable, "-m", "analysis"]
    inst = ["--instrument", "public_servant", "--json"]
    return {
        "reliability": base + ["reliability", str(data), "--items", *CONSTRUCT, "--scale-min", "1",
                               "--scale-max", "5", *inst],
        "aggregate": base + ["aggregate", str(data), "--group", "org_id", "--items",
                             "ps_rdy_train1", "ps_rdy_train2", "ps_rdy_train3", "--options", "5", *inst],
        "factor": base + ["factor", str(data), "--items", *CFA_ITEMS, "--reverse", "ps_dsk4",
                          "--scale-min", "1", "--scale-max", "5", *inst],
        "mixed": base + ["mixed", str(data), "--formula", FORMULA, *inst],
        "readiness": base + ["readiness", str(data), "--group", "org_id", "--instrument", "public_servant", "--json"],
    }


R_READ = """
suppressMessages({ok <- requireNamespace("data.table", quietly = TRUE)})
d <- if (ok) as.data.frame(data.table::fread(f)) else read.csv(f)
na99 <- function(x) { x[x == -99] <- NA; x }  # the file's declared missing code, on the columns used
"""
R_SCRIPTS = {
    "reliability": R_READ + """suppressMessages(library(psych))
a <- psych::alpha(na99(d[, c("ps_rdy_fin1", "ps_rdy_fin2", "ps_rdy_fin3")]), check.keys = FALSE)
cat(a$total$raw_alpha, "\\n")""",
    "aggregate": R_READ + """suppressMessages(library(multilevel))
x <- na99(d[, c("ps_rdy_train1", "ps_rdy_train2", "ps_rdy_train3")])
r <- rwg.j(x, d$org_id, ranvar = (5^2 - 1) / 12)
s <- rowMeans(x)
# multilevel::ICC1/ICC2 take aov(s ~ factor(g)); with 2,000 organisations that model matrix is
# 600,000 x 2,000 (17.7 GB, stopped after 7 minutes), so the same one-way ANOVA by group sums:
ok <- !is.na(s); s <- s[ok]; g <- d$org_id[ok]
n <- tapply(s, g, length); m <- tapply(s, g, mean)
msb <- sum(n * (m - mean(s))^2) / (length(n) - 1)
msw <- sum((s - m[as.character(g)])^2) / (length(s) - length(n))
k <- length(s) / length(n)
cat(mean(r$rwg.j, na.rm = TRUE), (msb - msw) / (msb + (k - 1) * msw), (msb - msw) / msb, "\\n")""",
    "factor": R_READ + """suppressMessages(library(lavaan))
d[, c("ps_dsk1", "ps_dsk2", "ps_dsk3", "ps_dsk4")] <- na99(d[, c("ps_dsk1", "ps_dsk2", "ps_dsk3", "ps_dsk4")])
d$ps_dsk4 <- 6 - d$ps_dsk4
f <- cfa("F =~ ps_dsk1 + ps_dsk2 + ps_dsk3 + ps_dsk4", data = d, estimator = "ML", std.lv = TRUE)
cat(fitMeasures(f, "cfi"), "\\n")""",
    "mixed": R_READ + """suppressMessages(library(lmerTest))
items <- grep("^ps_eng", names(d), value = TRUE)
sk <- c("ps_dsk1", "ps_dsk2", "ps_dsk3", "ps_dsk4")
d[, c(items, sk)] <- na99(d[, c(items, sk)]); d$ps_dsk4 <- 6 - d$ps_dsk4
d$dc_engagement <- rowMeans(d[, items], na.rm = TRUE)
d$digital_skills <- rowMeans(d[, sk], na.rm = TRUE)
d$c_digital_skills <- d$digital_skills - mean(d$digital_skills, na.rm = TRUE)
m <- lmer(dc_engagement ~ c_digital_skills + (1 | org_id), data = d)
print(summary(m)$coefficients)""",
}


def _timed(cmd: list[str], cwd: Path, env: dict) -> dict:
    timer = shutil.which("time") or "/usr/bin/time"
    start = time.perf_counter()
    proc = subprocess.run([timer, "-v", *cmd], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    err = proc.stderr
    def grab(label):
        m = re.search(label + r":\s*([\d.:]+)", err)
        return float(m.group(1)) if m else float("nan")
    cpu = grab("User time \\(seconds\\)") + grab("System time \\(seconds\\)")
    rss = grab("Maximum resident set size \\(kbytes\\)") / 1024 / 1024
    tail = err.strip().splitlines()
    message = next((line for line in tail if not line.startswith("\t")), "") if proc.returncode else ""
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_gb": round(rss, 3),
            "rc": proc.returncode, "message": message[:300]}


def _keep_study(data: Path, code: Path, env: dict) -> None:
    """Prepare and keep the scored study in ``env``'s cache folder (as a first command does)."""
    script = ("from analysis.scored_cache import prepared_data; "
              f"print(prepared_data({str(data)!r}, 'public_servant')[2])")
    subprocess.run([sys.executable, "-c", script], cwd=code, env=env, check=True, capture_output=True)


def run(out: Path, code: Path, label: str, skip_r: bool, only: list[str] | None, only_r: bool = False) -> dict:
    data = out / "servants_600k.csv"
    if not data.exists():
        generate(out)
    cache = out / f"cache_{label}"
    env = {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": "1", "ANALYSIS_CACHE_DIR": str(cache)}
    saved = out / f"results_{label}.json"
    results = json.loads(saved.read_text()) if (only_r or only) and saved.exists() else {}  # merge partial runs
    warm = (code / "analysis" / "scored_cache.py").exists()
    for name, cmd in _project_commands(data).items():
        if only and name not in only:
            continue
        if not only_r:
            shutil.rmtree(cache, ignore_errors=True)  # cold: the first command on this file
            cold = {**_timed(cmd, code, env), "load": os.getloadavg()[0]}
            results[name] = {**results.get(name, {}), "project": cold}
            print(name, "project cold", cold, flush=True)
            if warm:
                if not cache.exists():
                    _keep_study(data, code, env)
                hot = {**_timed(cmd, code, env), "load": os.getloadavg()[0]}
                results[name]["project_warm"] = hot
                print(name, "project warm", hot, flush=True)
        if not skip_r and name in R_SCRIPTS and shutil.which("Rscript"):
            script = out / f"bench_{name}.R"
            script.write_text(f'f <- "{data}"\n' + R_SCRIPTS[name])
            results[name]["r"] = {**_timed(["Rscript", str(script)], out, env), "load": os.getloadavg()[0]}
            print(name, "R", results[name]["r"], flush=True)
    (out / f"results_{label}.json").write_text(json.dumps(results, indent=1))
    return results


# Every page of the menu (title in the sidebar, key), in the menu's order.
PAGES = [("Overview", "overview"), ("Scales: reliability, factors, agreement", "measurement"),
         ("Multilevel models", "models"),
         ("1 · Knowledge, skills and attitudes", "topic_skills"),
         ("2 · Resources and organisational conditions", "topic_resources"),
         ("3 · Drivers, challenges and outcomes", "topic_drivers"), ("Organisation readiness", "readiness")]
# A filter change on each research-topic screen: (page key, filter label, option), as
# tests/test_browser_topics.py makes them.
FILTERS = [("topic_skills", "Gender", "Woman"), ("topic_resources", "Role", "Front-line staff"),
           ("topic_drivers", "Age band", "60+")]


def _finished(pg, timeout_s: float) -> float:
    """``time.perf_counter()`` at which the dashboard's script run ended: the moment the app's
    script state became ``notRunning`` and stayed so for 0.75 s (a widget may start another
    run). The quiet wait itself is not counted."""
    deadline = time.perf_counter() + timeout_s
    quiet_since = None
    while time.perf_counter() < deadline:
        running = pg.get_attribute('[data-testid="stApp"]', "data-test-script-state",
                                   timeout=10_000) != "notRunning"  # a crashed tab fails in 10 s
        now = time.perf_counter()
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since > 0.75:
            return quiet_since
        pg.wait_for_timeout(40)
    raise TimeoutError(f"the page kept running for {timeout_s:.0f} s")


def dashboard(out: Path, code: Path = ROOT, label: str = "after", timeout_s: float = 300) -> dict:
    """Time the dashboard in chromium (Playwright, ``/usr/bin/chromium``): the upload of the
    600,000-row CSV on the Data page until the success message, then each page of ``PAGES``
    opened from the sidebar until its script has finished (``_finished``), a filter change on
    each topic screen (``FILTERS``), and every page a second time; the server's peak memory
    (VmHWM). A step over ``timeout_s`` is recorded as such and the rest skipped. ``code``: the
    checkout whose dashboard is timed (e.g. the code before a change), ``label`` names the results
    (``results_dashboard_{label}.json``)."""
    import socket
    import tempfile
    import urllib.request

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from e2e import CHROMIUM, CHROMIUM_ARGS, wait_for_app

    data = out / "servants_600k.csv"
    if not data.exists():
        generate(out)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    work = Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
    cache = out / f"cache_dashboard_{label}"
    shutil.rmtree(cache, ignore_errors=True)  # the upload is the first time the dashboard sees the file
    env = dict(os.environ, COPROD_DB=str(work / "dashboard.sqlite3"), ANALYSIS_CACHE_DIR=str(cache))
    log = (work / "streamlit.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.address", "127.0.0.1", "--server.headless", "true",
                               "--server.fileWatcherType", "none"], cwd=code, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    results: dict = {"load_start": os.getloadavg()[0]}

    def cpu() -> float:
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def step(name, action, wait_ms):
        start, start_cpu = time.perf_counter(), cpu()
        try:
            action()
            end = _finished(pg, wait_ms / 1000)
            results[name] = {"wall_s": round(end - start, 2), "server_cpu_s": round(cpu() - start_cpu, 2)}
        except Exception as exc:  # noqa: BLE001 - a timeout is a result here
            results[name] = {"wall_s": None, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        print(name, results[name], flush=True)
        return results[name].get("wall_s") is not None

    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"the dashboard did not start: see {work / 'streamlit.log'}") from None
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

            def open_tab():
                tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                tab.set_default_timeout(timeout_s * 1000)
                tab.goto(f"{url}/data")
                wait_for_app(tab)
                return tab

            pg = open_tab()

            def upload():
                pg.get_by_role("region", name="Upload a survey file").get_by_test_id(
                    "stFileUploaderDropzoneInput").set_input_files(
                    files=str(data))  # a path: Playwright refuses buffers over 50 MB
                pg.locator('[data-testid="stAlertContentSuccess"]', has_text=data.name).first.wait_for(
                    timeout=timeout_s * 1000)

            def recover(after: str) -> None:
                """A step failed (a timeout, a crashed tab): a new tab and session with the file
                uploaded again (not timed), so the remaining steps are still measured."""
                nonlocal pg
                try:
                    pg.close()
                except Exception:  # noqa: BLE001 - the tab may be gone already
                    pass
                pg = open_tab()
                upload()
                _finished(pg, timeout_s)
                results.setdefault("recovered_after", []).append(after)

            ok = step("upload", upload, timeout_s * 1000)
            for title, key in PAGES if ok else []:
                def open_page(title=title):
                    pg.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
                    pg.wait_for_timeout(100)
                if not step(key, open_page, timeout_s * 1000):
                    recover(key)
                    continue
                for page_key, label, option in FILTERS:
                    if page_key != key:
                        continue

                    def change(label=label, option=option):
                        pg.locator('[data-testid="stMultiSelect"]').filter(has=pg.locator(
                            '[data-testid="stWidgetLabel"]', has_text=re.compile(f"^{re.escape(label)}$"))).click()
                        pg.get_by_role("option", name=option, exact=True).click()
                        pg.keyboard.press("Escape")
                        pg.wait_for_timeout(100)
                    if not step(f"{key} filter {label} = {option}", change, timeout_s * 1000):
                        recover(f"{key} filter")
            # a second visit of every page, the study already analysed
            for title, key in PAGES if ok else []:
                def again(title=title):
                    pg.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
                    pg.wait_for_timeout(100)
                if not step(f"{key} again", again, timeout_s * 1000):
                    recover(f"{key} again")
            browser.close()
    finally:
        status = Path(f"/proc/{server.pid}/status").read_text() if server.poll() is None else ""
        peak = re.search(r"VmHWM:\s+(\d+) kB", status)
        results["server_peak_gb"] = round(int(peak.group(1)) / 1024 / 1024, 2) if peak else None
        results["load_end"] = os.getloadavg()[0]
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    (out / f"results_dashboard_{label}.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results), flush=True)
    return results


FILED = {  # issue 15 as filed: project CPU s, project peak GB, R CPU s, R peak GB
    "reliability": (71, 3.3, 2.9, 0.63), "aggregate": (103, 3.2, 2.7, 0.44),
    "factor": (80, 3.3, 10.8, 0.62), "mixed": (92, 3.3, 18.8, 0.74),
}


def table(out: Path) -> str:
    def f(v, unit=""):
        return "" if v is None or v != v else f"{v:.1f}{unit}" if unit == " s" else f"{v:.2f}{unit}"

    before = json.loads((out / "results_before.json").read_text()) if (out / "results_before.json").exists() else {}
    after = json.loads((out / "results_after.json").read_text())
    rows = ["| command (`--instrument public_servant`) | as filed | before | after, cold | after, warm | R | "
            "cold / R | warm / R | before peak | cold peak | warm peak | R peak |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, res in after.items():
        b = before.get(name, {}).get("project", {})
        a, w, r = res["project"], res.get("project_warm", {}), res.get("r", {})
        filed = FILED.get(name, (None,) * 4)
        ratio = a["cpu_s"] / r["cpu_s"] if r.get("cpu_s") else None
        ratio_w = w["cpu_s"] / r["cpu_s"] if r.get("cpu_s") and w.get("cpu_s") else None
        rows.append(f"| `{name}` | {f(filed[0], ' s')} | {f(b.get('cpu_s'), ' s')} | {f(a['cpu_s'], ' s')} | "
                    f"{f(w.get('cpu_s'), ' s')} | {f(r.get('cpu_s'), ' s')} | {f(ratio)} | {f(ratio_w)} | "
                    f"{f(b.get('peak_gb'), ' GB')} | {f(a['peak_gb'], ' GB')} | {f(w.get('peak_gb'), ' GB')} | "
                    f"{f(r.get('peak_gb'), ' GB')} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["generate", "run", "table", "dashboard"])
    p.add_argument("--out", default="/tmp/survey_scale", help="folder for the data and results")
    p.add_argument("--code", default=str(ROOT), help="checkout whose commands are timed")
    p.add_argument("--label", default="after")
    p.add_argument("--skip-r", action="store_true")
    p.add_argument("--only-r", action="store_true", help="time the R side only (merged into the label's results)")
    p.add_argument("--only", nargs="+", default=None)
    a = p.parse_args(argv)
    out = Path(a.out)
    if a.action == "generate":
        generate(out)
    elif a.action == "dashboard":
        dashboard(out, Path(a.code), a.label)
    elif a.action == "run":
        run(out, Path(a.code), a.label, a.skip_r, a.only, a.only_r)
    else:
        print(table(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
