"""One whole-process fit for the benchmarks: read a CSV as ``python -m analysis mixed`` does
(``analysis.io.read_data``), fit, print one JSON line (fixed effects, logLik, fit time).

Usage: python benchmarks/bench_mixed_runner.py FILE FORMULA FAMILY
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.io import read_data  # noqa: E402
from analysis.mixed import fit  # noqa: E402


def main() -> None:
    path, formula, family = sys.argv[1:4]
    data = read_data(path).data
    t0 = time.perf_counter()
    m = fit(formula, data, family=family)
    fit_s = time.perf_counter() - t0
    out = {"loglik": m.loglik, "converged": m.converged, "fit_s": fit_s,
           "fixed": {r["term"]: r["estimate"] for r in m.fixed}}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
