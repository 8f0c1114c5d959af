"""Factor structure: sampling adequacy, number of factors, EFA, CFA and measurement invariance.

One family per module (import from ``analysis.factor``; the module names avoid the function names,
so ``analysis.factor.cfa`` is always the function):

* ``sampling_adequacy``: ``kmo`` / ``bartlett``: Kaiser-Meyer-Olkin MSA (Kaiser 1970; Kaiser & Rice 1974)
  and Bartlett's (1950) sphericity test, as ``psych::KMO`` / ``psych::cortest.bartlett``; Kaiser's labels.
* ``parallel``: ``parallel_analysis``, Horn's (1965) parallel analysis in the style of ``psych::fa.parallel``.
* ``extraction``, ``rotation``, ``exploratory``: ``fa`` / ``efa``, exploratory factor analysis, minimum
  residual (Harman & Jones 1966) or maximum likelihood (Joreskog 1967; Lawley & Maxwell 1971), with
  oblimin (Jennrich 2002 gradient projection) or varimax (Kaiser 1958) rotation, reproducing
  ``psych::fa`` (psych 2.2.9).
* ``_sem``, ``confirmatory``, ``measurement_invariance``: ``cfa`` / ``invariance``, confirmatory factor
  analysis by normal-theory maximum likelihood (Joreskog 1969) with lavaan's (0.6-14) default fit
  measures, and the configural / metric / scalar sequence of multi-group models (Meredith 1993;
  Vandenberg & Lance 2000).
* ``correlation``: ``correlation_matrix``, the input every model starts from.

Result objects carry their own readings (Kaiser's label, Hu & Bentler's verdict, the delta-CFI rule),
so pages and commands do not judge the numbers themselves. Everything here is a pure function of a
DataFrame and plain options; nothing imports streamlit.
"""
from __future__ import annotations

from analysis.factor.confirmatory import HU_BENTLER, CFAResult, cfa
from analysis.factor.correlation import correlation_matrix
from analysis.factor.exploratory import LOADING_CUTOFF, EFAResult, efa, fa
from analysis.factor.measurement_invariance import DELTA_CFI_CUTOFF, InvarianceResult, invariance
from analysis.factor.parallel import ParallelResult, parallel_analysis
from analysis.factor.sampling_adequacy import (
    KAISER_LABELS, AdequacyResult, KMOResult, bartlett, kaiser_label, kmo, sampling_adequacy,
)

__all__ = [
    "kmo", "bartlett", "parallel_analysis", "ParallelResult", "fa", "efa", "EFAResult",
    "cfa", "CFAResult", "invariance", "InvarianceResult", "correlation_matrix",
    "KMOResult", "kaiser_label", "KAISER_LABELS", "sampling_adequacy", "AdequacyResult",
    "HU_BENTLER", "LOADING_CUTOFF", "DELTA_CFI_CUTOFF",
]
