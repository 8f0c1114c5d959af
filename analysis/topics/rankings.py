"""Barriers, enablers, challenges, outcomes and benefits ranked by mean agreement."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis import privacy
from analysis.errors import InputError
from analysis.readiness_index import to_0_100
from analysis.topics.views import published


def _family_is(c, words) -> bool:
    fam = (c.family or "").lower()
    return any(w in fam for w in words)


def rank_constructs(scored: pd.DataFrame, instrument, constructs, *,
                    min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Mean agreement per construct with a t-based 95% CI, on the scale and on 0-100, sorted high to low."""
    rows = []
    for c in constructs:
        if c.key not in scored.columns:
            continue
        x = scored.loc[published(scored, scored[c.key].notna(), min_n), c.key]
        if len(x) < 2:
            continue
        half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        rows.append({"construct": c.key, "label": c.label, "family": c.family, "element": c.element,
                     "n": int(len(x)), "mean": x.mean(), "ci_low": x.mean() - half, "ci_high": x.mean() + half,
                     "mean_0_100": float(to_0_100(pd.Series([x.mean()]), c.scale).iloc[0]),
                     "agree_share": float((x > (c.scale.min + c.scale.max) / 2).mean())})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out = out.sort_values("mean_0_100", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["reading"] = [f"{r}. {lab}: {a:.0%} lean towards agreeing (mean {m:.2f})"
                      for r, lab, a, m in zip(out["rank"], out["label"], out["agree_share"], out["mean"])]
    return out


def barriers_enablers(scored: pd.DataFrame, instrument, *, min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Barriers, enablers and challenges of the instrument (by ``family``), ranked by mean agreement."""
    chosen = [c for c in instrument.constructs if _family_is(c, ("barrier", "enabler", "challenge", "resist"))
              or "resist" in c.key]
    return rank_constructs(scored, instrument, chosen, min_n=min_n)


def outcomes(scored: pd.DataFrame, instrument, *, min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Perceived outcomes (family 'outcomes'), ranked by mean agreement."""
    return rank_constructs(scored, instrument, [c for c in instrument.constructs if _family_is(c, ("outcome",))],
                           min_n=min_n)


def benefits_challenges(scored: pd.DataFrame, instrument, *, min_n: int = privacy.DEFAULT_MIN_N) -> pd.DataFrame:
    """Benefits and challenges along the four elements (data, interaction, tailoring,
    simplification; seeds/004): constructs with an ``element``, and single items with an
    ``element`` inside a construct without one. Mean with t-based 95% CI and on 0-100."""
    rows = []
    for c in instrument.constructs:
        kind = "challenge" if _family_is(c, ("challenge", "barrier")) else "benefit"
        if c.element and c.key in scored.columns:
            units = [(c.key, c.label, c.element, scored[c.key])]
        else:
            units = [(it.id, it.text, it.element, scored[it.id]) for it in c.items
                     if it.element and it.id in scored.columns]
            if units:
                rev = {it.id for it in c.items if it.reverse}
                units = [(i, t, e, (c.scale.min + c.scale.max - s) if i in rev else s) for i, t, e, s in units]
        for key, label, element, s in units:
            x = pd.to_numeric(s, errors="coerce")
            x = x[published(scored, x.notna(), min_n)]
            if len(x) < 2:
                continue
            half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
            rows.append({"element": element, "kind": kind, "measure": key, "label": label, "n": int(len(x)),
                         "mean": x.mean(), "ci_low": x.mean() - half, "ci_high": x.mean() + half,
                         "mean_0_100": float(to_0_100(pd.Series([x.mean()]), c.scale).iloc[0])})
    out = pd.DataFrame(rows)
    if out.empty:
        raise InputError(f"instrument '{instrument.id}' has no benefits or challenges by element in the data")
    order = {"data": 0, "interaction": 1, "tailoring": 2, "simplification": 3}
    out = out.sort_values(["element", "kind"], key=lambda s: s.map(order).fillna(9) if s.name == "element" else s,
                          kind="stable").reset_index(drop=True)
    out["reading"] = [f"{e} ({k}): mean {m:.2f} (95% CI {lo:.2f} to {hi:.2f})"
                      for e, k, m, lo, hi in zip(out["element"], out["kind"], out["mean"], out["ci_low"],
                                                 out["ci_high"])]
    return out
