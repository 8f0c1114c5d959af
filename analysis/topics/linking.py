"""Linking the two surveys: the public servants' readiness per municipality as a level-2
predictor of the citizens' digital co-production.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.errors import InputError
from analysis.readiness import resolve_group
from analysis.readiness_index import INDEX, group_means, readiness_dimensions, respondent_index
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
    from analysis.aggregation import icc1_icc2, rwg_j_by_group

    org = resolve_group(servants, instrument_ps, org)
    muni_ps = resolve_group(servants, instrument_ps, municipality)
    dims = readiness_dimensions(servants, instrument_ps)
    if not dims:
        raise InputError("none of the readiness items are in the public-servant data")
    index = respondent_index(servants, dims=dims)
    counted = index.notna()
    keep = counted & privacy.grouped_rows(servants, org, min_n, instrument=instrument_ps, answered=counted)
    items = [it.id for c in dims for it in c.items if it.id in servants.columns]
    used = pd.concat([servants.loc[keep, list(dict.fromkeys([org, muni_ps, *items]))], index[keep].rename(INDEX)],
                     axis=1)
    options = dims[0].scale.max - dims[0].scale.min + 1
    rev = {it.id: c for c in dims for it in c.items if it.reverse and it.id in used.columns}
    answers = used[items].to_numpy(dtype=float, copy=True)  # turned round where reverse-keyed
    for i, c in rev.items():
        col = items.index(i)
        answers[:, col] = c.scale.min + c.scale.max - answers[:, col]
    means = group_means(used[INDEX], used[muni_ps])
    # one group-by for the counts, and rwg(j) of every municipality from the same sums rwg_j takes
    grouped = used.groupby(muni_ps)
    n_servants = grouped.size()
    municipalities = n_servants.index
    if len(municipalities):
        rwg = rwg_j_by_group(answers, municipalities.get_indexer(used[muni_ps]), len(municipalities), options)
        table = pd.DataFrame({"municipality": municipalities.to_numpy(), "n_servants": n_servants.to_numpy(),
                              "n_orgs": grouped[org].nunique().to_numpy(),
                              "readiness": means["mean"].reindex(municipalities).to_numpy(dtype=float),
                              "rwg": rwg})
    else:
        table = pd.DataFrame([], columns=["municipality", "n_servants", "n_orgs", "readiness", "rwg"])
    table = privacy.suppress(table, "n_servants", min_n, value_cols=["readiness", "rwg"], totals=True)
    try:
        icc = icc1_icc2(used, INDEX, muni_ps)
        agreement = {"icc1": icc.icc1, "icc2": icc.icc2, "mean_rwg": float(table["rwg"].mean()),
                     "n_municipalities": int((~table["suppressed"]).sum())}
    except InputError:
        agreement = {"icc1": np.nan, "icc2": np.nan, "mean_rwg": float(table["rwg"].mean()),
                     "n_municipalities": int((~table["suppressed"]).sum())}
    return MunicipalityReadiness(table, agreement)


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
