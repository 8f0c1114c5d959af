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


@functools.cache
def one_blas_thread() -> None:
    """Limit every loaded BLAS library (numpy's and scipy's OpenBLAS) to one thread, once per
    process. Called by ``analysis.cli.main`` and by the dashboard's ``app.py``."""
    import numpy  # noqa: F401  (load both OpenBLAS copies before limiting them)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
