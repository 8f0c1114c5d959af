"""Research-topic analyses against direct pandas / scipy computations on the sample data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from analysis import topics as T
from analysis.errors import InputError
from analysis.instruments import load_instrument
from analysis.pipeline import prepare
from readiness_hand import hand_scores

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ips():
    return load_instrument("public_servant")


@pytest.fixture(scope="module")
def ict():
    return load_instrument("citizen")


@pytest.fixture(scope="module")
def servants():
    return pd.read_csv(ROOT / "sample_data" / "public_servants.csv")


@pytest.fixture(scope="module")
def citizens():
    return pd.read_csv(ROOT / "sample_data" / "citizens.csv")


@pytest.fixture(scope="module")
def sct(ict):
    """The citizens through the pipeline (the analyses take its scored frame)."""
    return prepare(ROOT / "sample_data" / "citizens.csv", ict).data


@pytest.fixture(scope="module")
def sps(ips):
    return prepare(ROOT / "sample_data" / "public_servants.csv", ips).data


def _any(citizens, ict, channel):
    c = next(c for c in ict.constructs if c.channel == channel and c.kind == "binary")
    x = citizens[[it.id for it in c.items]].replace(-99, np.nan)
    return (x == 1).any(axis=1).astype(float).where(x.notna().any(axis=1))


def test_broaden_deepen_equals_direct_crosstab(citizens, ict, sct):
    res = T.broaden_deepen(sct, ict)
    offline, digital = _any(citizens, ict, "offline"), _any(citizens, ict, "digital")
    direct = pd.crosstab(offline, digital)
    assert_allclose(res.counts.to_numpy(float), direct.to_numpy(float))
    assert_allclose(res.row_percent.to_numpy(), (direct.div(direct.sum(axis=1), axis=0) * 100).to_numpy())
    dig = direct[1.0].sum()
    shares = res.shares.set_index(res.shares["share_of"].str.split(":").str[0])
    assert_allclose(shares.loc["broadening", "share"], direct.loc[0.0, 1.0] / dig)
    assert_allclose(shares.loc["deepening", "share"], direct.loc[1.0, 1.0] / dig)
    prof = res.profiles
    both = (offline == 1) & (digital == 1)
    age = prof[(prof["pattern"] == "both") & (prof["variable"] == "age")]["value"].iloc[0]
    assert_allclose(age, citizens.loc[both, "age"].mean())
    assert "digital" in res.reading


def test_broaden_deepen_suppresses_small_cells(citizens, ict, sct):
    # keep only three citizens who took part in neither channel
    offline, digital = _any(citizens, ict, "offline"), _any(citizens, ict, "digital")
    active = sct[(offline == 1) | (digital == 1)]
    none_rows = sct.index[(offline == 0) & (digital == 0)][:3]
    res = T.broaden_deepen(pd.concat([active, sct.loc[none_rows]]), ict, min_n=5)
    assert pd.isna(res.counts.loc[0, 0])
    # not recoverable from the row or column margins either
    assert res.counts.loc[0].isna().sum() >= 2 and res.counts[0].isna().sum() >= 2


def test_digital_divide_shares_and_wilson_ci(citizens, ict, sct):
    res = T.digital_divide(sct, ict)
    digital = _any(citizens, ict, "digital")
    row = res[(res["variable"] == "education") & (res["level"] == "Tertiary")].iloc[0]
    y = digital[citizens["education"] == 3].dropna()
    k, n = y.sum(), len(y)
    assert row["n"] == n
    assert_allclose(row["share"], k / n)
    z = stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert_allclose([row["ci_low"], row["ci_high"]], [centre - half, centre + half], atol=1e-12)
    assert set(res["variable"]) == {"age_band", "gender", "education", "area"}


def test_compare_groups_matches_scipy(sct, ict):
    two = T.compare_groups(sct, "digital_skills", "area", instrument=ict)
    x = sct.loc[sct["area"] == 1, "digital_skills"].dropna()
    y = sct.loc[sct["area"] == 2, "digital_skills"].dropna()
    ref = stats.ttest_ind(x, y, equal_var=False)
    assert two.test == "Welch t"
    assert_allclose([two.statistic, two.p], [ref.statistic, ref.pvalue], rtol=1e-8)
    sp = np.sqrt(((len(x) - 1) * x.var() + (len(y) - 1) * y.var()) / (len(x) + len(y) - 2))
    g = (x.mean() - y.mean()) / sp * (1 - 3 / (4 * (len(x) + len(y)) - 9))
    assert_allclose(two.effect_size, g, rtol=1e-3)
    assert two.ci_low < two.effect_size < two.ci_high
    mw = T.compare_groups(sct, "digital_skills", "area", instrument=ict, parametric=False)
    u = stats.mannwhitneyu(x, y)
    assert_allclose([mw.statistic, mw.p], [u.statistic, u.pvalue])
    assert_allclose(mw.effect_size, 2 * u.statistic / (len(x) * len(y)) - 1)

    many = T.compare_groups(sct, "digital_skills", "education", instrument=ict)
    groups = [sct.loc[sct["education"] == e, "digital_skills"].dropna() for e in (1, 2, 3)]
    f_classic = stats.f_oneway(*groups)
    n = sum(len(g) for g in groups)
    eta2 = f_classic.statistic * 2 / (f_classic.statistic * 2 + n - 3)
    assert many.test == "Welch ANOVA"
    assert_allclose(many.effect_size, eta2, rtol=1e-8)
    assert many.ci_low < eta2 < many.ci_high
    kw = T.compare_groups(sct, "digital_skills", "education", instrument=ict, parametric=False)
    h = stats.kruskal(*groups)
    assert_allclose([kw.statistic, kw.p], [h.statistic, h.pvalue])
    assert_allclose(kw.effect_size, h.statistic * (n + 1) / (n * n - 1))

    cat = T.compare_groups(sct, "education", "area", instrument=ict, categorical=True)
    table = pd.crosstab(sct["area"], sct["education"])
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert_allclose([cat.statistic, cat.p, cat.df], [chi2, p, dof])
    assert_allclose(cat.effect_size, np.sqrt(chi2 / (table.to_numpy().sum() * 1)))
    assert cat.ci_low <= cat.effect_size <= cat.ci_high


def test_compare_groups_leaves_out_small_levels(sct, ict):
    data = sct.copy()
    data.loc[data.index[:3], "education"] = 9
    res = T.compare_groups(data, "digital_skills", "education", min_n=5)
    assert res.notes and "9" in res.notes[0]
    table = res.groups.set_index(res.groups["education"].astype(str))
    assert table.loc["9", "suppressed"] and pd.isna(table.loc["9", "mean"])
    assert pd.isna(table.loc["9", "n"])  # not even the count of the small level is given
    # the three are pooled with a block of at least 5 others, so the answered total minus the
    # groups shown is never a group of fewer than 5
    answered = int(data["digital_skills"].notna().sum())
    rest = answered - int(res.groups["n"].sum())
    assert rest == 0 or rest >= 5
    assert rest >= 3
    with pytest.raises(InputError):
        T.compare_groups(sct, "digital_skills", "nope")


def test_compare_surveys_on_shared_constructs(sps, ips, sct, ict):
    res = T.compare_surveys(sps, ips, sct, ict)
    assert set(res["shared_key"]) == {"digital_skills", "coproduction_attitude"}
    row = res.set_index("shared_key").loc["digital_skills"]
    ref = stats.ttest_ind(sps["digital_skills"].dropna(), sct["digital_skills"].dropna(), equal_var=False)
    assert_allclose(row["statistic"], ref.statistic, rtol=1e-8)


def test_correlations_pairwise(sps):
    res = T.correlations(sps, ["digital_skills", "coproduction_attitude", "psm_attraction"])
    assert len(res) == 3
    pair = sps[["digital_skills", "psm_attraction"]].dropna()
    r = stats.pearsonr(pair.iloc[:, 0], pair.iloc[:, 1])
    row = res[(res["x"] == "digital_skills") & (res["y"] == "psm_attraction")].iloc[0]
    assert row["n"] == len(pair)
    assert_allclose([row["r"], row["p"]], [r.statistic, r.pvalue], rtol=1e-6)


def test_rankings_benefits_and_outcomes(sps, ips, sct, ict):
    bar = T.barriers_enablers(sct, ict)
    assert list(bar["mean_0_100"]) == sorted(bar["mean_0_100"], reverse=True)
    assert_allclose(bar.set_index("construct").loc["barrier_access", "mean"], sct["barrier_access"].mean())
    ben = T.benefits_challenges(sps, ips)
    assert set(ben["element"]) == {"data", "interaction", "tailoring", "simplification"}
    assert set(ben["kind"]) == {"benefit", "challenge"}
    cit = T.benefits_challenges(sct, ict)
    assert_allclose(cit.set_index("element").loc["data", "mean"], sct["ct_ben_dat"].mean())
    out = T.outcomes(sps, ips)
    assert len(out) == 4 and out["rank"].tolist() == [1, 2, 3, 4]


def test_digital_participation_model_spec(sct, ict):
    spec = T.digital_participation_model(sct, ict)
    assert spec.family == "binomial"
    assert spec.formula.startswith("any_digital ~ any_offline") and "(1 | municipality_id)" in spec.formula
    assert not spec.data.isna().any().any()
    # the Models page's names: c_x grand-mean centred over the citizens, age per decade
    assert "c_age10" in spec.formula and "c_digital_skills" in spec.formula
    assert abs(spec.data["c_digital_skills"].mean()) < 0.05
    assert_allclose(spec.data["c_age10"].std(), sct["age"].std() / 10, rtol=0.05)


def test_link_readiness_to_municipalities(servants, sps, ips, sct, ict):
    res = T.link_readiness_to_municipalities(sps, sct, ips, ict, min_n=5)
    shown = res.municipalities[~res.municipalities["suppressed"]]
    with_value = res.data["readiness_muni"].notna()
    assert_allclose(res.data.loc[with_value, "c_readiness_muni"].mean(), 0, atol=1e-9)
    # one municipality by hand: mean over its servants of their own index, the mean of their
    # seven 0-100 dimension scores (rowMeans(na.rm = FALSE))
    m = shown["municipality"].iloc[0]
    hand = hand_scores(servants, ips)
    idx = hand.loc[hand["municipality_id"] == m, "index"]
    assert_allclose(shown["readiness"].iloc[0], idx.mean())
    assert "c_readiness_muni" in res.formula and res.family == "binomial"
    small = res.municipalities[res.municipalities["suppressed"]]
    assert small["readiness"].isna().all()
    small_munis = res.data["municipality_id"].isin(small["municipality"].astype(str))
    assert res.data.loc[small_munis, "readiness_muni"].isna().all()


def test_apply_filters_and_describe(sct, ict):
    women = T.apply_filters(sct, {"gender": [1]}, 5)
    assert (women["gender"] == 1).all()
    with pytest.raises(InputError):
        T.apply_filters(sct, {"respondent_id": [200001, 200002]}, 5)
    desc = T.describe_constructs(sct, ict)
    row = desc.set_index("construct").loc["trust_government"]
    assert_allclose([row["mean"], row["sd"]], [sct["trust_government"].mean(), sct["trust_government"].std()])
    assert isinstance(row["reading"], str)


def test_engagement_model_spec(sps, ips):
    spec = T.engagement_model(sps, ips)
    # the Models page's names and definitions (cwc_, c_gm_ of the 0-100 readiness index)
    assert spec.formula == "dc_engagement ~ cwc_readiness_index + c_gm_readiness_index + (1 | org_id)"
    assert_allclose(spec.data.groupby("org_id")["cwc_readiness_index"].mean().abs().max(), 0, atol=1e-9)
    assert not spec.data["org_id"].isin(["101", "105", "123", "135"]).any()  # organisations below 5 left out
    assert not spec.data.isna().any().any()


def test_mixed_engine_imports_no_domain_code():
    """The generic mixed-model engine sits below the domain: the survey-specific model table
    (analysis.model_data) imports it, never the reverse."""
    import ast

    domain = ("analysis.topics", "analysis.readiness", "analysis.instruments", "analysis.model_data")
    for path in sorted((ROOT / "analysis" / "mixed").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not [n for n in names if n.startswith(domain)], (path.name, names)
