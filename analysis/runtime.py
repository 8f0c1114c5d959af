"""Process-wide settings of the dashboard server and the commands.

One BLAS thread. The statistics here call BLAS on small matrices many times over (an L-BFGS-B
step of a factor model, a 3 x 3 eigen-decomposition per simulated data set, a mixed model's
Schur complement), and OpenBLAS's threads cost more in waking and synchronising than they save:
at 600,000 respondents, with the data read by pyarrow's threads just before, Horn's parallel
analysis of three items took 1.9-2.5 s with two BLAS threads and 0.07 s with one (the Fortran
L-BFGS-B routine alone went from 4 ms to 1.1 s for the same 1,010 calls). The large
cross-products (n x p with p items) lose at most the second core, which the dashboard's other
sessions and the browser use anyway.
"""
from __future__ import annotations

import functools
import os


@functools.cache
def one_blas_thread() -> None:
    """One thread for every BLAS library of the process, once: those loaded already (numpy's
    OpenBLAS) through threadpoolctl, those loaded later (scipy's own OpenBLAS, read when
    ``scipy.linalg`` is first imported) through ``OPENBLAS_NUM_THREADS``, which OpenBLAS reads
    as it loads; so a command that never needs scipy does not import it for this. Called by
    ``analysis.cli.main`` and by the dashboard's ``app.py``."""
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
