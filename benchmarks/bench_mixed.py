"""Benchmark: ``python -m analysis mixed`` against R's ``lme4::lmer`` on the same files.

Simulates two-level data (respondents in groups; 20 or 1,000 per group; a level-1
predictor x, a level-2 predictor z and their cross-level interaction, random intercept
and random slope of x), writes CSVs under benchmarks/out/, and times

* the command ``python -m analysis mixed FILE --formula ... --json`` (whole process:
  start-up, reading the CSV, fitting, Satterthwaite df, JSON), and
* the in-process ``analysis.mixed.fit`` on the already-read DataFrame,
* ``Rscript`` running ``read.csv`` + ``lme4::lmer`` (REML, default control) on the same file,

each the median of ``--repeats`` runs, with peak memory (max RSS of the process via
``/usr/bin/time -v`` when available, else ``resource``), and the largest absolute
difference between the two sets of fixed estimates.  Writes benchmarks/RESULTS.md.

R and lme4 are installed with apt (r-base-core, r-cran-lme4) when ``Rscript`` is missing
and ``--install-r`` is given (needs root).

Usage: python benchmarks/bench_mixed.py [--sizes 10000 100000 1000000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
MODELS = {
    "random intercept": "y ~ x * z + (1 | g)",
    "random slope": "y ~ x * z + (1 + x | g)",
}

R_SCRIPT = r"""
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$g <- factor(d$g)
m <- lmer(as.formula(args[2]), data = d, REML = TRUE)
b <- fixef(m)
cat(paste0('{', paste0('"', names(b), '":', sprintf('%.17g', b), collapse = ','), '}'), "\n")
"""


def simulate(n: int, per_group: int, seed: int = 1) -> pd.DataFrame:
    """y = 1 + 0.5 x + 0.3 z + 0.2 x z + u0 + u1 x + e; sd(u0) = .7, sd(u1) = .2, corr .3."""
    rng = np.random.default_rng(seed)
    groups = n // per_group
    g = np.repeat(np.arange(1, groups + 1), per_group)
    x = rng.normal(size=n)
    z = rng.normal(size=groups)
    cov = np.array([[0.49, 0.3 * 0.7 * 0.2], [0.3 * 0.7 * 0.2, 0.04]])
    u = rng.multivariate_normal([0, 0], cov, size=groups)
    y = 1 + 0.5 * x + 0.3 * z[g - 1] + 0.2 * x * z[g - 1] + u[g - 1, 0] + u[g - 1, 1] * x + rng.normal(size=n)
    return pd.DataFrame({"g": g, "x": x.round(6), "z": z[g - 1].round(6), "y": y.round(6)})


def ensure_r(install: bool) -> str | None:
    rscript = shutil.which("Rscript")
    if rscript:
        return rscript
    if not install:
        return None
    subprocess.run(["apt-get", "update"], check=False)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "r-base-core", "r-cran-lme4"],
                   check=False)
    return shutil.which("Rscript")


def timed(cmd: list[str], env=None) -> tuple[float, float, str]:
    """Wall time (s), peak RSS (MB) and stdout of one run."""
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        full = [str(gnu_time), "-v"] + cmd
    else:
        full = cmd
    start = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    peak = float("nan")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if m:
        peak = int(m.group(1)) / 1024
    else:
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak, proc.stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--per-group", type=int, nargs="+", default=[20, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--r-repeats", type=int, default=None, help="runs of lme4 (default: --repeats)")
    parser.add_argument("--large-r-repeats", type=int, default=1,
                        help="runs of lme4 at 1,000,000 rows and above (lme4 takes minutes there)")
    parser.add_argument("--install-r", action="store_true", help="apt-get install R and lme4 if missing")
    parser.add_argument("--merge", action="store_true",
                        help="keep earlier rows (benchmarks/out/rows.json) for sizes not run now")
    parser.add_argument("--skip-r-above", type=int, default=None, help="do not run lme4 above this size")
    parser.add_argument("--note", default="", help="a sentence added under the table (e.g. how runs were split)")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite RESULTS.md from benchmarks/out/rows.json without running")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        write_results(json.loads((OUT / "rows.json").read_text()), args)
        return 0
    rscript = ensure_r(args.install_r)
    r_file = OUT / "fit_lmer.R"
    r_file.write_text(R_SCRIPT)
    sys.path.insert(0, str(ROOT))
    from analysis.mixed import fit

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rows = []
    for n in args.sizes:
        for per_group in args.per_group:
            data = simulate(n, per_group)
            path = OUT / f"sim_{n}_{per_group}.csv"
            data.to_csv(path, index=False)
            for label, formula in MODELS.items():
                cmd = [sys.executable, "-m", "analysis", "mixed", str(path), "--formula", formula, "--json"]
                runs = [timed(cmd, env) for _ in range(args.repeats)]
                ours = json.loads(runs[-1][2])
                in_proc = []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    fit(formula, data)
                    in_proc.append(time.perf_counter() - t0)
                row = {"n": n, "per_group": per_group, "groups": n // per_group, "model": label,
                       "cmd_s": statistics.median(r[0] for r in runs),
                       "fit_s": statistics.median(in_proc),
                       "cmd_mb": max(r[1] for r in runs), "converged": ours["converged"],
                       "lme4_s": None, "lme4_mb": None, "max_abs_diff": None}
                if rscript and (args.skip_r_above is None or n <= args.skip_r_above):
                    r_runs = [timed([rscript, str(r_file), str(path), formula])
                              for _ in range(args.large_r_repeats if n >= 1_000_000
                                             else (args.r_repeats or args.repeats))]
                    theirs = json.loads(r_runs[-1][2].strip().splitlines()[-1])
                    row["lme4_s"] = statistics.median(r[0] for r in r_runs)
                    row["lme4_mb"] = max(r[1] for r in r_runs)
                    row["max_abs_diff"] = max(abs(f["estimate"] - theirs[f["term"]]) for f in ours["fixed"])
                rows.append(row)
                print(json.dumps(row), flush=True)
    store = OUT / "rows.json"
    if args.merge and store.exists():
        done = {(r["n"], r["per_group"], r["model"]) for r in rows}
        rows = [r for r in json.loads(store.read_text()) if (r["n"], r["per_group"], r["model"]) not in done] + rows
        rows.sort(key=lambda r: (r["n"], r["per_group"], r["model"]))
    store.write_text(json.dumps(rows, indent=1))
    write_results(rows, args)
    return 0


def designs_section() -> list[str]:
    """The crossed / nested / GLMM rows of ``bench_mixed_designs.py``, when it has run."""
    store = OUT / "designs_rows.json"
    if not store.exists():
        return []
    lines = [
        "", "## Crossed, nested, Poisson and binomial designs (`benchmarks/bench_mixed_designs.py`)", "",
        "Whole processes on the same CSV, run one after the other in the same session: *ours* = "
        "`benchmarks/bench_mixed_runner.py` (`analysis.io.read_data` + `analysis.mixed.fit`, with "
        "Satterthwaite df for linear models, + JSON); *lme4* = `Rscript` with `read.csv` + `lmer` (REML) or "
        "`glmer` (Laplace), default control, no df. *ratio* = ours / lme4 (below 1: faster than lme4). "
        "Median of the runs in `repeats` (ours and lme4 alternating, 2 each for this table). "
        "MB = peak RSS. *fit* = `fit()` alone inside our process, in the last run (so it can exceed the median "
        "whole-process time when the load changed between runs). *diff beta* = largest absolute "
        "difference in fixed effects; *logLik diff* = ours - lme4 (positive: our optimum is higher).",
        "",
        "| design | formula | family | rows | ours (s) | fit (s) | lme4 (s) | ratio | ours MB | lme4 MB | diff beta | logLik diff | converged |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in json.loads(store.read_text()):
        formula = r["formula"].replace("|", "\\|")   # a pipe would end the table cell
        lines.append(f"| {r['design']} | `{formula}` | {r['family']} | {r['rows']:,} | {r['ours_s']:.1f} | "
                     f"{r['fit_s']:.1f} | {r['lme4_s']:.1f} | {r['ratio']:.2f} | {r['ours_mb']:.0f} | "
                     f"{r['lme4_mb']:.0f} | {r['max_abs_diff_beta']:.1e} | {r['loglik'] - r['lme4_loglik']:.1e} | "
                     f"{r['converged']} |")
    return lines


def _fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def write_results(rows, args) -> None:
    lines = [
        "# Mixed-model benchmark: `python -m analysis mixed` vs `lme4::lmer`",
        "",
        "Simulated two-level data (`benchmarks/bench_mixed.py`): y = 1 + 0.5 x + 0.3 z + 0.2 x z + u0 + u1 x + e, "
        "REML, formula `y ~ x * z + (1 | g)` or `y ~ x * z + (1 + x | g)`. "
        f"Median of {args.repeats} runs ({args.large_r_repeats} for lme4 at 1M rows; rows kept with --merge keep their own counts, see the note). *command* = whole `python -m analysis mixed FILE --json` process "
        "(start-up, CSV read, fit, Satterthwaite df, JSON); *fit* = `analysis.mixed.fit` in process on the "
        "DataFrame; *lme4* = `Rscript` with `read.csv` + `lmer` (lme4 1.1-31, default control) on the same CSV. "
        "Memory = peak RSS of the process. *max abs diff beta* = largest absolute difference in fixed estimates. "
        "The command's time includes start-up (about 0.6 s) and reading the CSV with `analysis.io.read_data`; "
        "*fit* is the model alone. "
        "Timings were taken on a shared 2-CPU machine under load from other jobs, so they are noisy.",
        "",
        "| rows | per group | groups | model | command (s) | fit (s) | lme4 (s) | ratio to lme4 | command MB | lme4 MB | max abs diff beta | converged |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = r["cmd_s"] / r["lme4_s"] if r.get("lme4_s") else None
        lines.append(f"| {r['n']:,} | {r['per_group']:,} | {r['groups']:,} | {r['model']} | {r['cmd_s']:.2f} | "
                     f"{r['fit_s']:.3f} | {_fmt(r['lme4_s'], '.2f')} | {_fmt(ratio, '.2f')} | {r['cmd_mb']:.0f} | "
                     f"{_fmt(r['lme4_mb'], '.0f')} | {_fmt(r['max_abs_diff'], '.1e')} | {r['converged']} |")
    if args.note:
        lines += ["", args.note]
    lines += designs_section()
    lines += ["", f"Machine: {os.cpu_count()} CPUs; Python {sys.version.split()[0]}, numpy {np.__version__}.", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
