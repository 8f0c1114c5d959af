"""Model frame: from a formula and a DataFrame to y, X and the random-effect blocks.

Rows with a missing value in any variable the formula uses are dropped first
(``na.omit``, lme4's default).  Random-effect terms are ordered as
``lme4::mkReTrms`` orders them (by decreasing number of levels when they differ)
and named as ``VarCorr()`` prints them (a repeated grouping factor gets ``.1``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.errors import InputError
from analysis.mixed.formula import (DesignColumns, ParsedFormula, RandomSpec, build_design,
                                    is_categorical, make_coding, parse_formula, _level_label)


@dataclass
class RandomTerm:
    """One random-effect block ``(expr | factor)``: q coefficients per level."""
    name: str               # as VarCorr prints it: "Subject", "Subject.1", "cask:batch"
    factor: str             # grouping factor name: "Subject", "cask:batch"
    codes: np.ndarray       # level index per row
    levels: list[str]       # level labels
    Z: np.ndarray           # n x q raw random-effect design
    coef_names: list[str]
    design: DesignColumns
    spec: RandomSpec

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def n_theta(self) -> int:
        return self.q * (self.q + 1) // 2


@dataclass
class ModelFrame:
    formula: ParsedFormula
    data: pd.DataFrame           # the rows used (complete cases), original index kept
    y: np.ndarray
    X: np.ndarray
    x_names: list[str]
    fixed_design: DesignColumns
    terms: list[RandomTerm]
    n_dropped: int
    trials: np.ndarray | None = None    # binomial size per row (cbind outcomes)
    weights: np.ndarray | None = None   # prior weights (glmer/lmer ``weights =``)

    @property
    def n(self) -> int:
        return len(self.y)


def _row_labels(values: pd.Series) -> np.ndarray:
    """Each row's level label as ``_level_label`` prints it, value by value: the fallback for
    columns whose equal values may print differently (an object column holding True and 1.0,
    which hash alike) and for rarer types (dates, timestamps)."""
    return np.array([_level_label(v) for v in values.to_numpy()], dtype=object)


def _distinct_values(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (a categorical column without missing values) as a code per row into its
    distinct values present, and the label of each, so that equal values always print alike.

    Text is factorized on its own storage (pyarrow's dictionary encoding for Arrow strings, no
    Python string per row), categoricals by their codes, booleans by their two values;
    anything else is labelled row by row (:func:`_row_labels`).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        # a Categorical's values are its categories taken at its codes (Categorical.__array__)
        codes, used = pd.factorize(values.cat.codes.to_numpy())
        distinct = np.asarray(values.cat.categories)[used]
    elif pd.api.types.is_bool_dtype(values) or pd.api.types.infer_dtype(values, skipna=False) == "string":
        codes, uniques = pd.factorize(values.array)
        distinct = np.asarray(uniques)
    else:
        return pd.factorize(_row_labels(values))
    return codes, np.array([_level_label(v) for v in distinct], dtype=object)


def _factor(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """One grouping column as its levels' codes (one per row) and labels, levels sorted: whole
    numbers by value, anything else by label (so ``"10"`` before ``"9"``, ``"B"`` before ``"a"``;
    R sorts them by its locale instead). Two distinct values with the same label (an object
    column's 1 and ``"1"``) are one level."""
    if not is_categorical(values):
        codes, uniques = pd.factorize(values.to_numpy(), sort=True)
        return codes.astype(np.int64, copy=False), [_level_label(u) for u in uniques]
    codes, labels = _distinct_values(values)
    levels, level_of_value = np.unique(labels, return_inverse=True)
    return level_of_value.astype(np.int64, copy=False)[codes], levels.tolist()


def _group_codes(data: pd.DataFrame, group: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """The grouping factor of ``group`` (one column, or the interaction ``a:b:c``): a level
    code per row of ``data`` and the levels' labels, in :func:`_factor`'s order; an
    interaction's levels are the combinations present, sorted by their parts' levels
    (the first part first), labelled ``"a:b:c"``."""
    factors = [_factor(data[var]) for var in group]
    if len(factors) == 1:
        return factors[0]
    key = np.zeros(len(data), dtype=np.int64)
    for codes_j, levels_j in factors:
        key = key * len(levels_j) + codes_j
    codes, keys = pd.factorize(key, sort=True)
    labels = []
    for k in keys:
        parts = []
        for _codes_j, levels_j in reversed(factors):
            k, i = divmod(int(k), len(levels_j))
            parts.append(levels_j[i])
        labels.append(":".join(reversed(parts)))
    return codes.astype(np.int64, copy=False), labels


def model_frame(formula: str, data: pd.DataFrame, *, family: str = "gaussian",
                reference_levels: dict[str, str] | None = None,
                weights: str | None = None) -> ModelFrame:
    """Parse, check and build the matrices; every problem becomes an InputError.

    ``weights`` names a column of prior weights (R: ``weights = w``); rows with a missing
    weight are dropped with the other incomplete rows.
    """
    from analysis.mixed.functions import add_derived
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise InputError("no data: the table is empty")
    parsed = parse_formula(formula)
    if weights is not None and weights not in data.columns:
        raise InputError(f"unknown weights column: {weights}")
    data = add_derived(parsed.derived, data)
    missing = [v for v in parsed.variables if v not in data.columns]
    if missing:
        raise InputError(f"unknown column(s) in the formula: {', '.join(missing)}",
                         hint=f"available columns: {', '.join(map(str, data.columns[:30]))}")
    if not parsed.random:
        raise InputError("the formula has no random part",
                         hint="add a grouping term such as (1 | group)")
    reference_levels = dict(reference_levels or {})
    unknown_ref = [k for k in reference_levels if k not in parsed.variables]
    if unknown_ref:
        raise InputError(f"reference level given for a column not in the formula: {', '.join(unknown_ref)}")

    used = data[parsed.variables + ([weights] if weights and weights not in parsed.variables else [])]
    complete = used.notna().all(axis=1).to_numpy()
    frame = used.loc[complete]   # a new frame: pandas copies it on write
    n_dropped = int((~complete).sum())
    if frame.empty:
        raise InputError("no complete rows: every row misses a value in some variable of the formula")

    w = None
    if weights is not None:
        w = _weights(frame, weights)
        frame = frame[[c for c in frame.columns if c != weights or weights in parsed.variables]]
    trials = None
    if parsed.cbind is not None:
        if family != "binomial":
            raise InputError("cbind(successes, failures) outcomes need the binomial family",
                             hint="use --family binomial")
        y, trials = _cbind_outcome(frame, parsed)
    elif family == "poisson":
        y = _count_outcome(frame, parsed.outcome)
    elif family == "binomial" and w is not None:
        y = _proportion_outcome(frame, parsed.outcome)
    if parsed.cbind is not None or family == "poisson" or (family == "binomial" and w is not None):
        pass
    elif family == "binomial":
        outcome = frame[parsed.outcome]
        if pd.api.types.is_bool_dtype(outcome):
            y = outcome.to_numpy(dtype=float)
        elif pd.api.types.is_numeric_dtype(outcome):
            y = outcome.to_numpy(dtype=float)
            bad = ~np.isin(y, (0.0, 1.0))
            if bad.any():
                row = frame.index[np.argmax(bad)]
                raise InputError(f"a binary outcome must be coded 0/1, found {y[bad][0]:g}",
                                 column=parsed.outcome, row=int(row) if isinstance(row, (int, np.integer)) else None,
                                 hint="recode it to 0 = no, 1 = yes")
        else:
            raise InputError("a binary outcome must be numeric 0/1 or true/false",
                             column=parsed.outcome, hint="recode it to 0 = no, 1 = yes")
        if np.all(y == y[0]):
            raise InputError("the outcome has only one value (all 0 or all 1); nothing to model",
                             column=parsed.outcome)
    else:
        outcome = frame[parsed.outcome]
        if not pd.api.types.is_numeric_dtype(outcome) or pd.api.types.is_bool_dtype(outcome):
            raise InputError("the outcome must be numeric", column=parsed.outcome,
                             hint="use --family binomial for a 0/1 outcome, or recode text answers to numbers")
        y = outcome.to_numpy(dtype=float)
        if not np.isfinite(y).all():
            raise InputError("the outcome has infinite values", column=parsed.outcome)

    predictor_vars = set(v for t in parsed.fixed.terms for v in t)
    for spec in parsed.random:
        predictor_vars |= set(v for t in spec.expr.terms for v in t)
    codings = {}
    for v in predictor_vars:
        codings[v] = make_coding(frame, v, reference_levels.get(v))
        if not codings[v].is_factor and not np.isfinite(frame[v].to_numpy(dtype=float)).all():
            raise InputError("the predictor has infinite values", column=v)

    fixed_design = build_design(parsed.fixed, codings, parsed.variables, frame)
    X = fixed_design.matrix(frame)
    _check_rank(X, fixed_design.names)

    terms: list[RandomTerm] = []
    for spec in parsed.random:
        for g in spec.group:
            if is_categorical(frame[g]) is False and not pd.api.types.is_integer_dtype(frame[g]) \
                    and not np.all(np.mod(frame[g].to_numpy(dtype=float), 1) == 0):
                raise InputError("a grouping column must hold group labels or whole-number ids",
                                 column=g)
        codes, labels = _group_codes(frame, spec.group)
        if len(labels) < 2:
            raise InputError(f"the grouping column has only one group ({labels[0]}); "
                             "a multilevel model needs several groups", column=spec.group_name)
        design = build_design(spec.expr, codings, parsed.variables, frame)
        Z = design.matrix(frame)
        if Z.shape[1] == 0:
            raise InputError(f"the random term for '{spec.group_name}' has no coefficients",
                             hint="write (1 | group) or (1 + x | group)")
        terms.append(RandomTerm(spec.group_name, spec.group_name, codes, labels, Z,
                                design.names, design, spec))
        _check_slopes_vary(terms[-1])

    n_levels = [t.n_levels for t in terms]
    if any(np.diff(n_levels) > 0):  # lme4::mkReTrms: rev(order(nl))
        order = list(reversed(np.argsort(n_levels, kind="stable")))
        terms = [terms[i] for i in order]
    seen: dict[str, int] = {}
    for t in terms:
        k = seen.get(t.factor, 0)
        t.name = t.factor if k == 0 else f"{t.factor}.{k}"
        seen[t.factor] = k + 1

    n = len(y)
    for t in terms:
        if t.n_levels >= n and family == "gaussian":   # glmer allows n levels (lme4's allow.n)
            raise InputError(f"'{t.factor}' has as many groups ({t.n_levels}) as observations ({n}); "
                             "each group needs several rows", column=t.factor)
    if sum(t.q * t.n_levels for t in terms) >= n and family == "gaussian":
        raise InputError(f"more random effects ({sum(t.q * t.n_levels for t in terms)}) than observations ({n})",
                         hint="drop a random slope or use fewer groups")
    return ModelFrame(parsed, frame, y, X, fixed_design.names, fixed_design, terms, n_dropped,
                      trials, w)


def _row_label(frame, mask):
    row = frame.index[np.argmax(mask)]
    return int(row) if isinstance(row, (int, np.integer)) else None


def _numeric(frame, column, what):
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise InputError(f"{what} must be numeric", column=column)
    return values.to_numpy(dtype=float)


def _weights(frame, column):
    w = _numeric(frame, column, "prior weights")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise InputError(f"prior weights must be finite and not negative, found {w[bad][0]:g}",
                         column=column, row=_row_label(frame, bad))
    return w


def _checked_outcome(frame, column, what: str, rule: str, is_bad, hint: str):
    """The outcome column as numbers, or ``InputError`` naming the first value breaking ``rule``."""
    y = _numeric(frame, column, what)
    bad = ~np.isfinite(y) | is_bad(y)
    if bad.any():
        raise InputError(f"{rule}, found {y[bad][0]:g}", column=column, row=_row_label(frame, bad), hint=hint)
    return y


def _count_outcome(frame, column):
    """Poisson outcome: whole numbers >= 0 (R's dpois would be -Inf otherwise)."""
    return _checked_outcome(frame, column, "a count outcome (family poisson)",
                            "a count outcome (family poisson) must be a whole number >= 0",
                            lambda y: (y < 0) | (np.mod(y, 1) != 0),
                            "use the gaussian family for measurements, binomial for 0/1")


def _proportion_outcome(frame, column):
    """Binomial outcome with prior weights (R: y = proportion, weights = trials)."""
    return _checked_outcome(frame, column, "a binomial outcome with weights (a proportion)",
                            "a binomial outcome with weights must be a proportion in [0, 1]",
                            lambda y: (y < 0) | (y > 1), "or write cbind(successes, failures) ~ ...")


def _cbind_outcome(frame, parsed):
    """cbind(successes, failures): y = successes / trials, trials = successes + failures."""
    s_col, f_col = parsed.cbind
    s = _numeric(frame, s_col, "cbind(): successes")
    f = _numeric(frame, f_col, "cbind(): failures")
    for values, col, what in ((s, s_col, "successes"), (f, f_col, "failures")):
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            # cbind(yes, total - yes): a negative difference means more successes than trials
            extra = " (successes above trials)" if what == "failures" and " - " in col else ""
            raise InputError(f"{parsed.outcome}: {what} '{col}' is negative ({values[bad][0]:g}){extra}",
                             column=col, row=_row_label(frame, bad),
                             hint="counts must be whole numbers >= 0, successes at most the trials")
        frac = np.mod(values, 1) != 0
        if frac.any():
            raise InputError(f"{parsed.outcome}: {what} '{col}' is not a whole number ({values[frac][0]:g})",
                             column=col, row=_row_label(frame, frac))
    trials = s + f
    y = np.divide(s, trials, out=np.zeros_like(s), where=trials > 0)
    return y, trials


RANK_TOL = 1e-7   # relative to the largest pivot, per row or column (max(n, p)) of X


def _check_rank(X: np.ndarray, names: list[str]) -> None:
    """``InputError`` when a fixed-effect column is all zero or the columns are collinear.

    A column-pivoted QR (LAPACK ``dgeqp3``) of the columns scaled to unit length counts the
    diagonal entries of R above ``|r_11| * RANK_TOL * max(n, p)`` (1e-7 is the tolerance of R's
    ``qr()``); the columns pivoted last are the ones named.  The tall QR is skipped when
    :func:`_clearly_full_rank` shows that it cannot find a deficiency.
    """
    if X.shape[1] == 0 or _clearly_full_rank(X):
        return
    scale = np.sqrt((X ** 2).sum(axis=0))
    if np.any(scale == 0):
        bad = [names[i] for i in np.flatnonzero(scale == 0)]
        raise InputError(f"the fixed-effect column(s) {', '.join(bad)} are all zero in the rows used",
                         hint="drop them or check the coding")
    from scipy.linalg import qr
    _, r, piv = qr(X / scale, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    rank = int((d > d[0] * RANK_TOL * max(X.shape)).sum())
    if rank < X.shape[1]:
        bad = [names[i] for i in piv[rank:]]
        raise InputError(f"fixed effects are collinear (rank deficient): {', '.join(bad)} "
                         "can be written from the other predictors",
                         hint="drop one of the collinear predictors")


def _clearly_full_rank(X: np.ndarray) -> bool:
    """Whether :func:`_check_rank`'s pivoted QR is sure to find full rank, told from the p x p
    cross products of X instead of a QR of its n rows (2 ms instead of 20 on 600,000 rows).

    Scale the columns to unit length, so ``|r_11| = 1``, and let C be the scaled cross-product
    matrix (unit diagonal).  Each diagonal entry of the pivoted R is at least the smallest
    singular value of X, sqrt(lambda_min(C)): the leading k x k block of R is the triangular
    factor of the first k pivoted columns, ``|r_kk|`` is at least that block's smallest singular
    value, and dropping columns does not lower the smallest singular value (interlacing; Golub
    & Van Loan 2013, *Matrix Computations*, 4th ed., sections 5.4 and 8.6).  So when
    sqrt(lambda_min(C)) is twice the QR's threshold, no entry can fall to it: the rounding of
    C, of its eigenvalues and of the QR (about n p 1e-16) is far below the squared threshold,
    1e-14 n^2, as n > p.  Anything else (a zero column, overflowing cross products, a small
    lambda_min) is left to the QR, which then decides and names the columns exactly as before.
    """
    gram = X.T @ X
    squares = np.diag(gram)
    if not np.isfinite(gram).all() or np.any(squares <= 0):
        return False
    norms = np.sqrt(squares)
    smallest = np.linalg.eigvalsh(gram / np.outer(norms, norms))[0]
    return bool(np.sqrt(max(smallest, 0.0)) > 2 * RANK_TOL * max(X.shape))


def _check_slopes_vary(term: RandomTerm) -> None:
    """A random slope needs its predictor to vary inside at least one group."""
    if term.q == 1:     # one coefficient: an intercept, or a slope without its intercept
        return
    G = term.n_levels
    counts = np.bincount(term.codes, minlength=G)
    for j, name in enumerate(term.coef_names):
        z = term.Z[:, j]
        if np.all(z == 1.0):
            continue
        sums = np.bincount(term.codes, weights=z, minlength=G)
        means = sums / np.maximum(counts, 1)
        within = np.abs(z - means[term.codes]).max()
        if within < 1e-12 * max(1.0, np.abs(z).max()):
            raise InputError(f"'{name}' is constant within every '{term.factor}' group, so it cannot have "
                             "a random slope", column=name,
                             hint=f"drop it from the random part, e.g. (1 | {term.factor})")


@dataclass
class SparseStructure:
    """The random-effects structure as sparse pieces (lme4's Z and Lambda_theta pattern).

    ``Z`` is n x Q with one column per (term, level, coefficient), ordered as lme4 orders
    them within a term (level-major); ``lambda_index`` gives, for every non-zero of the
    block-diagonal relative covariance factor Lambda, its (row, column, theta position), so
    ``Lambda = csc((theta[k], (rows, cols)))``; ``blocks`` holds (offset, levels, q) per term.
    """
    Z: "sp.csc_matrix"
    lambda_rows: np.ndarray
    lambda_cols: np.ndarray
    lambda_theta: np.ndarray
    blocks: list[tuple[int, int, int]]
    n_theta: int

    @property
    def Q(self) -> int:
        return self.Z.shape[1]

    def lambda_matrix(self, theta: np.ndarray) -> "sp.csc_matrix":
        return sp.csc_matrix((np.asarray(theta)[self.lambda_theta], (self.lambda_rows, self.lambda_cols)),
                             shape=(self.Q, self.Q))


def sparse_structure(frame: ModelFrame) -> SparseStructure:
    """Build ``Z`` and the pattern of Lambda for every random term of ``frame``
    (Bates et al. 2015, JSS 67(1), section 2.2)."""
    n = len(frame.y)
    rows, cols, vals = [], [], []
    lam_rows, lam_cols, lam_theta = [], [], []
    offset = theta_offset = 0
    blocks = []
    for t in frame.terms:
        G, q = t.n_levels, t.q
        for j in range(q):
            rows.append(np.arange(n))
            cols.append(offset + t.codes * q + j)
            vals.append(t.Z[:, j])
        # Lambda's block for a term: its lower-triangular T repeated on the diagonal, level by level.
        k = 0
        for j in range(q):
            for i in range(j, q):
                lam_rows.append(offset + np.arange(G) * q + i)
                lam_cols.append(offset + np.arange(G) * q + j)
                lam_theta.append(np.full(G, theta_offset + k))
                k += 1
        blocks.append((offset, G, q))
        offset += G * q
        theta_offset += t.n_theta
    Z = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, offset))
    return SparseStructure(Z, np.concatenate(lam_rows), np.concatenate(lam_cols), np.concatenate(lam_theta),
                           blocks, theta_offset)
