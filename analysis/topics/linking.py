"""Linking the two surveys: the public servants' readiness per municipality as a level-2
predictor of the citizens' digital co-production.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.errors import InputError
from analysis.readiness import _grouping, resolve_group
from analysis.readiness_index import INDEX, means_by_code, readiness_dimensions, score_arrays
from analysis.topics.models import _participation_terms
from analysis.topics.participation import participation


@dataclass
class LinkResult:
    """Municipality readiness (from public servants) joined to citizens, with the model to fit."""
    municipalities: pd.DataFrame  # municipality, n_servants, n_orgs, readiness, rwg, suppressed
    agreement: dict               # icc1, icc2 of the servants' index by municipality, mean rwg(j)
    data: pd.DataFrame            # one row per citizen: the model table + readiness_muni, c_readiness_muni
    formula: str
    family: str
    reading: str

    def to_dict(self) -> dict:
        return {"municipalities": self.municipalities, "agreement": self.agreement, "formula": self.formula,
                "family": self.family, "reading": self.reading, "n_citizens": int(len(self.data))}


@dataclass
class MunicipalityReadiness:
    """The public servants' side of the link: readiness per municipality and its agreement."""
    municipalities: pd.DataFrame  # municipality, n_servants, n_orgs, readiness, rwg, suppressed
    agreement: dict               # icc1, icc2 of the servants' index by municipality, mean rwg(j), n


def municipality_readiness(servants: pd.DataFrame, instrument_ps, *, min_n: int = privacy.DEFAULT_MIN_N,
                           org: str = "org_id", municipality: str = "municipality_id") -> MunicipalityReadiness:
    """Readiness per municipality from the public servants, as ``link_readiness_to_municipalities``
    attaches it to citizens: the mean of the servants' readiness index (small organisations left
    out by the privacy rule, municipalities below ``min_n`` servants suppressed), rwg(j) over the
    readiness items per municipality and ICC(1)/ICC(2) of the index by municipality (Bliese 2000;
    R ``tapply``, ``multilevel::rwg.j``, ``multilevel::ICC1``/``ICC2``). It depends on the
    servants alone, so a screen filtering citizens computes it once."""
    from analysis.aggregation import icc1_icc2

    org = resolve_group(servants, instrument_ps, org)
    muni_ps = resolve_group(servants, instrument_ps, municipality)
    dims = readiness_dimensions(servants, instrument_ps)
    if not dims:
        raise InputError("none of the readiness items are in the public-servant data")
    _, index = score_arrays(servants, dims)  # respondent_index, as an array
    counted = ~np.isnan(index)
    keep = counted & privacy.grouped_rows(servants, org, min_n, instrument=instrument_ps, answered=counted).to_numpy()
    items = [it.id for c in dims for it in c.items if it.id in servants.columns]
    options = dims[0].scale.max - dims[0].scale.min + 1
    rev = {it.id: c for c in dims for it in c.items if it.reverse and it.id in servants.columns}
    # the municipalities of the servants kept (a group-by on them lists them sorted), each
    # kept servant's municipality as a number
    muni = _grouping(servants[muni_ps])
    kept_codes = muni.codes[keep]
    size = np.bincount(kept_codes[kept_codes >= 0], minlength=len(muni.labels))
    present = np.flatnonzero(size)
    rank = np.full(len(muni.labels) + 1, -1, dtype=np.int64)
    rank[present] = np.arange(len(present))
    codes = rank[kept_codes]  # 0..municipalities-1, -1 without one
    municipalities = pd.Index([muni.labels[i] for i in present])
    if len(municipalities):
        n_m = len(municipalities)
        values = index[keep]
        means = means_by_code(values, codes, n_m)[1]  # group_means' mean, to the last bit
        orgs = privacy._codes(servants[org])[keep]
        with_muni = codes >= 0
        pairs = pd.unique(codes[with_muni] * (int(orgs.max()) + 1) + orgs[with_muni])
        n_orgs = np.bincount(pairs // (int(orgs.max()) + 1), minlength=n_m)
        answers = [servants[i].to_numpy(dtype=float) for i in items]  # the columns, not copied
        turned = {items.index(i): c.scale.min + c.scale.max for i, c in rev.items()}
        table = pd.DataFrame({"municipality": municipalities.to_numpy(), "n_servants": size[present],
                              "n_orgs": n_orgs, "readiness": means,
                              "rwg": _rwg_j_by_code(answers, turned, keep, codes, n_m, options)})
    else:
        table = pd.DataFrame([], columns=["municipality", "n_servants", "n_orgs", "readiness", "rwg"])
    table = privacy.suppress(table, "n_servants", min_n, value_cols=["readiness", "rwg"], totals=True)
    try:
        used = pd.DataFrame({INDEX: index[keep],  # the two columns the ICCs read, of the servants kept
                             muni_ps: servants[muni_ps].iloc[np.flatnonzero(keep)].reset_index(drop=True)})
        icc = icc1_icc2(used, INDEX, muni_ps)
        agreement = {"icc1": icc.icc1, "icc2": icc.icc2, "mean_rwg": float(table["rwg"].mean()),
                     "n_municipalities": int((~table["suppressed"]).sum())}
    except InputError:
        agreement = {"icc1": np.nan, "icc2": np.nan, "mean_rwg": float(table["rwg"].mean()),
                     "n_municipalities": int((~table["suppressed"]).sum())}
    return MunicipalityReadiness(table, agreement)


def _rwg_j_by_code(answers: list, turned: dict, rows: np.ndarray, codes: np.ndarray, n_groups: int,
                   options: int) -> np.ndarray:
    """rwg(j) per group of the item columns ``answers`` at ``rows`` (``codes``:
    the group 0..n_groups-1 of each of those rows, -1 for none; ``turned``: column -> scale min
    + scale max for the reverse-keyed items, answers turned round as ``min + max - answer``):
    rwg(j) = J (1 - s2/sigma2_EU) / (J (1 - s2/sigma2_EU) + s2/sigma2_EU), s2 the mean of the
    items' sample variances in the group (respondents missing an item left out; s2 capped at
    sigma2_EU = (A^2 - 1) / 12; missing below two respondents). James, Demaree & Wolf (1984);
    R: ``multilevel::rwg.j(x, grpid, ranvar = (A^2 - 1) / 12)``.

    Where an item's answers are small whole numbers, its variance per group comes from one
    count per group and answer: the sums of the answers and of their squares are then exact
    and the variance (n sum x^2 - (sum x)^2) / (n (n - 1)) is rounded once (turning answers
    round leaves it unchanged); otherwise from the group means and the squared deviations
    (``aggregation.column_variances``). Equal to ``aggregation.rwg_j`` of each group up to the
    order of floating-point summation (``tests/test_scale_linking.py``), without a loop over the
    groups."""
    from analysis.aggregation import column_variances, rwg_j_from_variances
    at = np.flatnonzero(rows)
    complete = codes >= 0
    for x in answers:  # respondents missing an item of the set are left out
        complete &= ~np.isnan(x)[at]
    at, c = at[complete], codes[complete]
    n = np.bincount(c, minlength=n_groups)
    var = np.empty((n_groups, len(answers)))
    for j, column in enumerate(answers):
        x = column[at]
        low = float(x.min()) if len(x) else 0.0
        span = int(x.max() - low) + 1 if len(x) else 1
        small = len(x) and span <= 64 and int(n.max()) ** 2 * span ** 2 < 2 ** 52
        counted = (x - low).astype(np.int8) if small else None
        if counted is not None and np.array_equal(counted + low, x):
            tally = np.bincount(c * span + counted, minlength=n_groups * span).reshape(n_groups, span)
            k = np.arange(span, dtype=np.int64)
            total, squares = tally @ k, tally @ (k * k)  # of the answers less the lowest: exact
            with np.errstate(invalid="ignore", divide="ignore"):
                var[:, j] = (n * squares - total * total) / (n * (n - 1.0))
        else:
            x = turned[j] - x if j in turned else x
            var[:, j] = column_variances(x, c, n.astype(float))[1]
    var[n < 2] = np.nan
    return rwg_j_from_variances(var, options)[0]


def link_readiness_to_municipalities(servants: pd.DataFrame, citizens: pd.DataFrame, instrument_ps,
                                     citizen_instrument=None, *, min_n: int = privacy.DEFAULT_MIN_N,
                                     org: str = "org_id", municipality: str = "municipality_id",
                                     readiness: MunicipalityReadiness | None = None) -> LinkResult:
    """Aggregate public servants' readiness to their municipality and attach it to citizens.

    Each servant's readiness index is ``analysis.readiness_index.respondent_index`` (0-100);
    a municipality's readiness is the mean over its servants, leaving out organisations too
    small to show (``privacy.grouped_rows``) and municipalities with fewer than ``min_n``
    servants (R ``tapply(readiness_index, municipality, mean)``). Whether aggregation is
    justified is reported as ICC(1)/ICC(2) of the index by municipality and the mean rwg(j)
    over the readiness items (Bliese 2000; R ``multilevel::ICC1``, ``multilevel::rwg.j``).
    The citizens' table is the Models page's (``analysis.model_data``) with
    ``readiness_muni`` and its grand-mean-centred ``c_readiness_muni`` (Enders & Tofighi
    2007); the suggested model is ``any_digital ~ c_readiness_muni + ... + (1 | municipality)``
    (R ``lme4::glmer``).

    ``readiness``: the servants' side made before by ``municipality_readiness`` with the same
    ``min_n``, ``org`` and ``municipality`` (a screen keeps it while only the citizens' filters
    change); computed here when not given."""
    from analysis.model_data import model_data, with_derived

    if municipality not in citizens.columns:
        raise InputError("the citizen data have no municipality column", column=municipality,
                         hint="both surveys need the same municipality identifier")
    if readiness is None:
        readiness = municipality_readiness(servants, instrument_ps, min_n=min_n, org=org, municipality=municipality)
    table, agreement = readiness.municipalities, readiness.agreement
    shown = table[~table["suppressed"]]
    lookup = dict(zip(shown["municipality"].astype(str), shown["readiness"]))
    terms: list[str] = []
    if citizen_instrument is not None:
        data = model_data(citizens, citizen_instrument)
        if "any_digital" not in data.columns:
            participation(citizens, citizen_instrument)  # raises the reason
        terms = _participation_terms(data, citizen_instrument)
    else:
        data = citizens.copy()
    data[municipality] = citizens[municipality].astype(str)
    data["readiness_muni"] = data[municipality].map(lookup).astype(float)
    formula = f"any_digital ~ {' + '.join(['c_readiness_muni', *terms])} + (1 | {municipality})"
    data, _ = with_derived(data, formula)
    ok = agreement["icc2"] >= 0.70 if np.isfinite(agreement["icc2"]) else False
    reading = (f"Readiness of {agreement['n_municipalities']} municipalities "
               f"(mean rwg(j) = {agreement['mean_rwg']:.2f}, ICC(1) = {agreement['icc1']:.2f}, "
               f"ICC(2) = {agreement['icc2']:.2f}): "
               + ("municipality means are reliable enough to use as a predictor." if ok
                  else "municipality means are not very reliable (ICC(2) below .70); read the model with care."))
    return LinkResult(table, agreement, data, formula, "binomial", reading)
