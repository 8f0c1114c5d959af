"""Citizens' co-production: who takes part digitally (the digital divide), and whether digital
channels broaden or deepen participation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis import privacy
from analysis.errors import InputError
from analysis.topics.views import _labelled, published

PATTERNS = ["none", "offline only", "digital only", "both"]


def _channel_construct(instrument, channel: str):
    for c in instrument.constructs:
        if c.channel == channel and c.kind == "binary":
            return c
    raise InputError(f"instrument '{instrument.id}' has no yes/no construct of past co-production "
                     f"through the {channel} channel", hint="use the citizen instrument")


def participation(data: pd.DataFrame, instrument) -> pd.DataFrame:
    """``any_digital`` / ``any_offline`` (1 if any activity of that channel was done, 0 if
    none, missing when no activity was answered) and ``pattern`` (none, offline only,
    digital only, both)."""
    out = pd.DataFrame(index=data.index)
    for channel in ("digital", "offline"):
        c = _channel_construct(instrument, channel)
        present = [it.id for it in c.items if it.id in data.columns]
        if not present:
            raise InputError(f"none of the {channel} co-production items are in the data",
                             hint="map them on the Data page")
        x = data[present].apply(pd.to_numeric, errors="coerce")
        x = x.mask(x.isin(getattr(instrument, "missing_codes", []) or []))
        anyx = (x == c.scale.max).any(axis=1).astype(float)
        out[f"any_{channel}"] = anyx.where(x.notna().any(axis=1))
    both = out["any_digital"].notna() & out["any_offline"].notna()
    code = (out["any_digital"].fillna(0) * 2 + out["any_offline"].fillna(0)).astype(int)
    named = pd.Series(code).map(dict(enumerate(PATTERNS))).to_numpy()  # 2 digital + offline
    out["pattern"] = pd.Categorical(np.where(both, named, None), categories=PATTERNS)
    return out


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def digital_divide(citizens: pd.DataFrame, instrument, by: Sequence[str] = ("age_band", "gender", "education", "area"),
                   *, min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Share of citizens with any digital co-production per level of each ``by`` variable,
    with Wilson 95% CIs (Wilson 1927; R ``prop.test(correct = FALSE)$conf.int``) and a
    chi-square test per variable. Levels below ``min_n`` are suppressed with complementary
    suppression per variable (``privacy.suppress``)."""
    part = participation(citizens, instrument)
    tables = []
    for var in by:
        if var not in citizens.columns and not (var == "age_band" and "age" in citizens.columns):
            continue
        lev = pd.Series(_labelled(citizens, instrument, var), index=citizens.index)
        cell = privacy.group_cells(citizens, lev, min_n, answered=part["any_digital"].notna() & lev.notna())
        frame = pd.DataFrame({"level": cell, "y": part["any_digital"]}).dropna()
        counts = frame.groupby("level", observed=True)["y"].agg(n="size", participants="sum").reset_index()
        gone = [str(v) for v in lev[part["any_digital"].notna()].dropna().unique()
                if str(v) not in set(counts["level"].astype(str))]
        if gone:  # levels with too few respondents to show: listed, without counts
            counts = pd.concat([counts.astype({"level": object}),
                                pd.DataFrame({"level": gone, "n": [0] * len(gone),
                                              "participants": [np.nan] * len(gone)})],
                               ignore_index=True)
        counts["share"] = counts["participants"] / counts["n"]
        cis = [_wilson(int(k), int(n)) for k, n in zip(counts["participants"], counts["n"])]
        counts["ci_low"], counts["ci_high"] = [c[0] for c in cis], [c[1] for c in cis]
        counts["participants"] = counts["participants"].astype(float)
        counts.insert(0, "variable", var)
        counts["suppressed"] = counts["n"] == 0
        counts["suppression"] = np.where(counts["suppressed"], "primary", "")
        counts["n"] = [None if hide else int(v) for v, hide in zip(counts["n"], counts["suppressed"])]
        shown = frame
        # chi-square of participation by level, over the levels shown (R: chisq.test(correct = FALSE))
        ct = pd.crosstab(shown["level"].astype(str), shown["y"])
        chi2 = p = np.nan
        if ct.shape[0] > 1 and ct.shape[1] == 2 and (ct.sum(axis=0) > 0).all():
            chi2, p = stats.chi2_contingency(ct, correction=False)[:2]
        counts["chi2"], counts["p"] = chi2, p
        counts["level"] = counts["level"].astype(str)
        tables.append(counts)
    if not tables:
        raise InputError("none of the background variables is in the data",
                         hint=f"expected some of: {', '.join(by)}")
    out = pd.concat(tables, ignore_index=True)
    out["reading"] = [None if s else f"{v} {lv}: {sh:.0%} co-produced digitally (95% CI {lo:.0%} to {hi:.0%}, n = {n})"
                      for v, lv, s, sh, lo, hi, n in zip(out["variable"], out["level"], out["suppressed"], out["share"],
                                                         out["ci_low"], out["ci_high"], out["n"])]
    return out


@dataclass
class BroadenDeepen:
    """Offline x digital participation and the profiles of the four participation patterns."""
    counts: pd.DataFrame       # rows any_offline (0/1), columns any_digital (0/1): pandas.crosstab
    row_percent: pd.DataFrame  # the same, as % of each row
    shares: pd.DataFrame       # broadening / deepening among digital participants, Wilson CIs
    profiles: pd.DataFrame     # pattern x variable: n, mean or share
    reading: str

    def to_dict(self) -> dict:
        return {"counts": {str(k): v for k, v in self.counts.to_dict(orient="index").items()},
                "row_percent": {str(k): v for k, v in self.row_percent.to_dict(orient="index").items()},
                "shares": self.shares, "profiles": self.profiles, "reading": self.reading}


def broaden_deepen(citizens: pd.DataFrame, instrument, *, min_n: int = privacy.DEFAULT_MIN_N,
                   profile_scores: Sequence[str] | None = None) -> BroadenDeepen:
    """Do digital channels reach people who do not co-produce offline (broadening) or those
    who already do (deepening)? Cross-tabulation of any offline x any digital participation
    (R: ``table(offline, digital)``), the shares of digital participants without / with
    offline participation (Wilson CIs), and a profile (age, gender, education, area, skills)
    of the four patterns. Cells with 1..min_n-1 people are suppressed (``privacy.suppress``
    with the table margins)."""
    part = participation(citizens, instrument)
    known = part[published(citizens, part["any_digital"].notna() & part["any_offline"].notna(), min_n)]
    counts = pd.crosstab(known["any_offline"].astype(int), known["any_digital"].astype(int))
    counts = counts.reindex(index=[0, 1], columns=[0, 1], fill_value=0)
    counts.index.name, counts.columns.name = "any_offline", "any_digital"
    long = counts.stack().rename("n").reset_index()
    long["value"] = long["n"].astype(float)
    long = privacy.suppress(long, "n", min_n, value_cols=["value"], totals=["any_offline", "any_digital"])
    if long["suppressed"].any():
        counts = long.pivot(index="any_offline", columns="any_digital", values="value")
    row_pct = counts.div(counts.sum(axis=1), axis=0) * 100
    digital = int(known["any_digital"].sum())
    only = int(((known["any_digital"] == 1) & (known["any_offline"] == 0)).sum())
    shares = []
    for name, k in (("broadening: digital participants with no offline participation", only),
                    ("deepening: digital participants who also participate offline", digital - only)):
        lo, hi = _wilson(k, digital)
        shares.append({"share_of": name, "n": k, "of": digital, "share": k / digital if digital else np.nan,
                       "ci_low": lo, "ci_high": hi})
    shares = pd.DataFrame(shares)
    if long["suppressed"].any():
        shares[["n", "share", "ci_low", "ci_high"]] = np.nan
    profiles = _profiles(citizens, instrument, part["pattern"], min_n, profile_scores)
    if digital and not long["suppressed"].any():
        b = only / digital
        reading = (f"Of the {digital} citizens who co-produced digitally, {b:.0%} did not co-produce offline "
                   f"(broadening) and {1 - b:.0%} also did (deepening): digital channels mostly "
                   + ("reach new people." if b > 0.5 else "add to the participation of those already active."))
    else:
        reading = "Too few digital participants to say whether digital channels broaden or deepen participation."
    return BroadenDeepen(counts, row_pct, shares, profiles, reading)


def _profiles(citizens: pd.DataFrame, instrument, pattern: pd.Series, min_n: int, scores) -> pd.DataFrame:
    rows = []
    demographics = {d.id: d for d in getattr(instrument, "demographics", []) or []}
    if scores is None:
        scores = [c.key for c in instrument.constructs if c.family == "skills" and c.key in citizens.columns]
    # the background columns the profiles read (not every column of every member: 600,000 rows)
    used = [c for c in dict.fromkeys([*demographics, "age"]) if c in citizens.columns]
    for pat in PATTERNS:
        # a pattern is defined by answers: each block's part of it must pool min_n people
        sub = citizens.loc[published(citizens, pattern == pat, min_n), used]
        n = len(sub)
        for var, d in demographics.items():
            if var not in citizens.columns:
                continue
            if d.type == "numeric":
                x = pd.to_numeric(sub[var], errors="coerce").dropna()
                rows.append({"pattern": pat, "n": n, "variable": var, "level": "mean",
                             "value": x.mean() if len(x) else np.nan})
            else:
                lev = pd.Series(_labelled(sub, instrument, var), index=sub.index).dropna()
                shares = lev.value_counts(normalize=True)
                for level in (d.levels or {}).values():
                    rows.append({"pattern": pat, "n": n, "variable": var, "level": level,
                                 "value": float(shares.get(level, 0.0)) if len(lev) else np.nan})
        for key in scores:
            x = (citizens.loc[published(citizens, (pattern == pat) & citizens[key].notna(), min_n), key]
                 if key in citizens.columns else pd.Series(dtype=float))
            rows.append({"pattern": pat, "n": n, "variable": key, "level": "mean",
                         "value": x.mean() if len(x) else np.nan})
    out = pd.DataFrame(rows)
    sizes = out[["pattern", "n"]].drop_duplicates().reset_index(drop=True)
    hidden = privacy.suppress(sizes, "n", min_n, value_cols=[], totals=True)
    hide = out["pattern"].isin(hidden.loc[hidden["suppressed"], "pattern"])
    out["value"] = out["value"].astype(float).where(~hide)
    out["suppressed"] = hide
    return out
