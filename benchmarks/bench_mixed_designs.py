"""Benchmark: crossed, nested, Poisson and binomial mixed models against lme4, whole processes.

Designs (issue 16):

* ``insteval``: lme4's full InstEval, ``y ~ service + dept + (1|s) + (1|d) + (1|dept:service)``
  (73,421 ratings; 2,972 students x 1,128 lecturers, 28 dept:service cells), REML;
* ``nested3``: 100,000 simulated respondents in 10,000 teams in 1,000 organisations in 100
  municipalities, ``y ~ x + z + (1 | muni/org/team)``, REML;
* ``crossed_binomial``: 100,000 simulated 0/1 answers of 5,000 respondents to 20 of 50 items,
  ``y ~ x + z + (1 | resp) + (1 | item)``, Laplace;
* ``poisson``: 100,000 simulated counts (reports made through an app) of respondents in 500
  municipalities, ``k ~ x + z + (1 | muni)``, Laplace.

Each is timed as a whole process on the same CSV: ``python benchmarks/bench_mixed_runner.py``
(``analysis.io.read_data`` + ``analysis.mixed.fit`` + JSON, as ``python -m analysis mixed``;
the runner exists because the command offers no ``--family poisson`` yet) against
``Rscript`` with ``read.csv`` + ``lme4::lmer``/``glmer`` (default control), with peak RSS
from ``/usr/bin/time -v``.  Reports the ratio ours / lme4 and the largest differences in
fixed effects and logLik.  Writes benchmarks/out/designs_rows.json; with ``--results`` it
also replaces the designs table of benchmarks/RESULTS.md (the table only: the notes under
it, with the date and the machine's load, are written by whoever ran it, and the file's
other sections are left as they are).

Usage: python benchmarks/bench_mixed_designs.py [--designs insteval nested3 ...] [--repeats 1] [--results]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_mixed import OUT, timed  # noqa: E402

DESIGNS = {
    "insteval": ("y ~ service + dept + (1 | s) + (1 | d) + (1 | dept:service)", "gaussian"),
    "nested3": ("y ~ x + z + (1 | muni/org/team)", "gaussian"),
    "crossed_binomial": ("y ~ x + z + (1 | resp) + (1 | item)", "binomial"),
    "poisson": ("k ~ x + z + (1 | muni)", "poisson"),
}

R_FIT = r"""
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = TRUE)
f <- as.formula(args[2])
m <- if (args[3] == "gaussian") lmer(f, data = d, REML = TRUE) else glmer(f, data = d, family = args[3])
b <- fixef(m)
cat(paste0('{"loglik":', sprintf('%.17g', as.numeric(logLik(m))), ',"fixed":{',
           paste0('"', names(b), '":', sprintf('%.17g', b), collapse = ','), '}}'), "\n")
"""


def make_insteval(path: Path, rscript: str) -> None:
    """Export lme4's InstEval with text levels (so both sides read factors)."""
    code = ('suppressMessages(library(lme4)); d <- InstEval; '
            'write.csv(data.frame(s = paste0("s", d$s), d = paste0("d", d$d), '
            'service = paste0("sv", d$service), dept = paste0("dp", d$dept), y = d$y), '
            f'"{path}", row.names = FALSE)')
    subprocess.run([rscript, "-e", code], check=True)


def simulate_nested3(seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, teams = 100_000, 10_000
    team = np.repeat(np.arange(teams), n // teams)
    org, muni = team // 10, team // 100
    z_org = rng.normal(size=1000)
    x = rng.normal(size=n)
    y = (1 + 0.4 * x + 0.3 * z_org[org] + rng.normal(0, 0.5, 100)[muni] + rng.normal(0, 0.4, 1000)[org]
         + rng.normal(0, 0.3, teams)[team] + rng.normal(size=n))
    return pd.DataFrame({"muni": [f"m{i}" for i in muni], "org": [f"o{i}" for i in org],
                         "team": [f"t{i}" for i in team], "x": x.round(6),
                         "z": z_org[org].round(6), "y": y.round(6)})


def simulate_crossed_binomial(seed=2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    resp_n, items, per = 5000, 50, 20
    resp = np.repeat(np.arange(resp_n), per)
    item = np.concatenate([rng.choice(items, per, replace=False) for _ in range(resp_n)])
    x = rng.normal(size=resp_n)[resp]
    z = rng.normal(size=items)[item]
    eta = -0.3 + 0.5 * x - 0.4 * z + rng.normal(0, 1.0, resp_n)[resp] + rng.normal(0, 0.6, items)[item]
    y = (rng.random(len(resp)) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"resp": [f"r{i}" for i in resp], "item": [f"i{i}" for i in item],
                         "x": x.round(6), "z": z.round(6), "y": y})


def simulate_poisson(seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, munis = 100_000, 500
    muni = rng.integers(0, munis, n)
    x = rng.normal(size=n)
    z = rng.normal(size=munis)[muni]
    eta = 0.2 + 0.3 * x + 0.2 * z + rng.normal(0, 0.5, munis)[muni]
    return pd.DataFrame({"muni": [f"m{i}" for i in muni], "x": x.round(6), "z": z.round(6),
                         "k": rng.poisson(np.exp(eta))})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--results", action="store_true", help="replace the table in RESULTS.md")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    rscript = shutil.which("Rscript")
    if not rscript:
        print("Rscript not found: install r-base-core r-cran-lme4", file=sys.stderr)
        return 2
    r_file = OUT / "fit_lme4_designs.R"
    r_file.write_text(R_FIT)
    store = OUT / "designs_rows.json"
    rows = {r["design"]: r for r in json.loads(store.read_text())} if store.exists() else {}
    for design in args.designs:
        formula, family = DESIGNS[design]
        path = OUT / f"design_{design}.csv"
        if not path.exists():
            if design == "insteval":
                make_insteval(path, rscript)
            else:
                globals()[f"simulate_{design}"]().to_csv(path, index=False)
        with open(path) as fh:
            n = sum(1 for _ in fh) - 1
        ours_cmd = [sys.executable, str(HERE / "bench_mixed_runner.py"), str(path), formula, family]
        theirs_cmd = [rscript, str(r_file), str(path), formula, family]
        ours, theirs = [], []
        for _ in range(args.repeats):   # alternate, so both see the same load
            ours.append(timed(ours_cmd))
            theirs.append(timed(theirs_cmd))
        o = json.loads(ours[-1][2].strip().splitlines()[-1])
        t = json.loads(theirs[-1][2].strip().splitlines()[-1])
        diff = max(abs(o["fixed"][k] - v) for k, v in t["fixed"].items())
        row = {"design": design, "formula": formula, "family": family, "rows": n,
               "ours_s": statistics.median(r[0] for r in ours), "ours_mb": max(r[1] for r in ours),
               "lme4_s": statistics.median(r[0] for r in theirs), "lme4_mb": max(r[1] for r in theirs),
               "max_abs_diff_beta": diff, "loglik": o["loglik"], "lme4_loglik": t["loglik"],
               "converged": o["converged"], "fit_s": o["fit_s"], "repeats": args.repeats}
        row["ratio"] = row["ours_s"] / row["lme4_s"]
        rows[design] = row
        print(json.dumps(row), flush=True)
        store.write_text(json.dumps(list(rows.values()), indent=1))
    if args.results:
        replace_table(HERE / "RESULTS.md")
    return 0


def replace_table(path: Path) -> None:
    """Swap the designs table in ``path`` for the one ``bench_mixed.designs_section`` makes
    from designs_rows.json; everything else in the file is kept."""
    from bench_mixed import designs_section
    table = [line for line in designs_section() if line.startswith("|")]
    lines = path.read_text().split("\n")
    start = lines.index(designs_section()[1])
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("| design |"))
    last = first
    while last < len(lines) and lines[last].startswith("|"):
        last += 1
    path.write_text("\n".join(lines[:first] + table + lines[last:]))


if __name__ == "__main__":
    raise SystemExit(main())
