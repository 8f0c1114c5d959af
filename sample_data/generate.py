"""Generate the bundled sample surveys from a documented two-level population model.

    python sample_data/generate.py              # writes the six data files + parameters.json
    python sample_data/generate.py --out DIR    # somewhere else (tests use a tmp dir)
    python sample_data/generate.py --calibrate  # Monte Carlo of the stated analysis models

The population model (every number is in ``POPULATION`` below, copied to
``parameters.json`` and explained in ``README.md``):

* 60 organisations of lognormal size (1,500 public servants; four organisations with
  fewer than 5 respondents); organisation ``org_id = 100 + m`` serves municipality ``m``.
* Organisation readiness: a general latent readiness ``R_j ~ N(0, 1)``; each of the seven
  readiness dimensions has an organisation component ``u_dj = 0.8 R_j + 0.6 e_dj`` and a
  person component; the latent intraclass correlation of dimension ``d`` is ``ICC_d``.
* Servants' engagement in digital co-production depends on ``R_j``, digital skills and
  their cross-level interaction ``R_j x skills``, plus a random organisation intercept.
* 4,000 citizens in the same 60 municipalities; their digital skills and digital
  co-production show a digital divide by age and gender, and municipality readiness
  (``R_j`` of the serving organisation) narrows the age gap (cross-level interaction).
* Items: ``z = loading * eta + sqrt(1 - loading^2) * e`` cut at thresholds into 1..5;
  reverse-keyed items are answered reversed; 2% straight-liners; 3% MCAR item
  non-response; a few columns code part of their missing answers as -99.

Deterministic: one ``numpy.random.default_rng(seed)`` drives everything, so the same seed
gives the same CSV bytes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis.instruments import load_instrument  # noqa: E402
from analysis.scoring import score_instrument  # noqa: E402

SEED = 20261125
OUT_DIR = Path(__file__).resolve().parent

POPULATION: dict = {
    "seed": SEED,
    "design": {
        "n_organisations": 60,
        "n_servants": 1500,
        "n_citizens": 4000,
        "org_size_lognormal": {"meanlog": 3.0, "sdlog": 0.9},
        "small_organisations": {"count": 4, "sizes": [2, 3, 3, 4]},
        "municipality_size_lognormal": {"meanlog": 4.0, "sdlog": 0.5, "minimum": 15},
        "org_to_municipality": "org_id = 100 + municipality_id (one organisation per municipality)",
    },
    "readiness": {
        "general_factor": "R_j ~ N(0, 1) per organisation",
        "org_component": "u_dj = 0.8 * R_j + 0.6 * e_dj, e_dj ~ N(0, 1)",
        "person_component": "w_dij = 0.5 * P_i + sqrt(0.75) * z_dij (P_i: person's general tendency)",
        "latent_score": "eta_dij = sqrt(ICC_d) * u_dj + sqrt(1 - ICC_d) * w_dij",
        "latent_icc": {"rdy_strategy": 0.20, "rdy_structure": 0.15, "rdy_flexwork": 0.25,
                       "rdy_finance": 0.30, "rdy_training": 0.20, "rdy_leadership": 0.15,
                       "rdy_regulation": 0.10},
    },
    "servants": {
        "digital_skills": "S = -0.30 * (age - 45) / 10 + 0.30 * [role = specialist/IT] + N(0, 0.9^2)",
        "public_service_motivation": "G ~ N(0, 1); each PSM dimension = 0.7 * G + N(0, 0.71^2)",
        "coproduction_attitude": "A = 0.35 * G + 0.20 * rbar + N(0, 0.9^2), rbar = mean of the 7 eta_d",
        "perceived_usefulness": "0.35 * A + 0.25 * S + 0.25 * rbar + N(0, 0.85^2)",
        "perceived_ease_of_use": "0.50 * S + 0.20 * eta_training + N(0, 0.85^2)",
        "resistance_to_change": "-0.35 * S - 0.30 * A + N(0, 0.85^2)",
        "engagement": {
            "equation": ("E = 0.40 * R_j + 0.30 * S + 0.15 * R_j * S + 0.15 * wbar + 0.20 * A "
                         "+ v_j + N(0, 0.75^2)"),
            "coefficients": {"R_org": 0.40, "digital_skills": 0.30, "R_org_x_digital_skills": 0.15,
                             "readiness_person_part": 0.15, "coproduction_attitude": 0.20},
            "org_random_intercept_sd": 0.25, "residual_sd": 0.75,
        },
        "benefits": "each benefits_* = 0.45 * PU + 0.20 * E + N(0, 0.85^2)",
        "challenges": "each challenges_* = 0.40 * RES - 0.20 * rbar + N(0, 0.9^2)",
        "outcomes": "public value / service quality / efficiency = 0.50 * PU + N(0, 0.85^2); "
                    "human touch = 0.40 * RES + N(0, 0.9^2)",
        "demographics": {"role": {"1": 0.55, "2": 0.20, "3": 0.18, "4": 0.07},
                         "gender": {"1": 0.55, "2": 0.43, "3": 0.02},
                         "age": "N(45, 11^2) clipped to 21..66",
                         "tenure": "min(age - 20, Gamma(2, 6)) rounded",
                         "org_type (per organisation)": {"1": 0.40, "2": 0.25, "3": 0.20, "4": 0.15}},
    },
    "citizens": {
        "age": "N(48, 17^2) clipped to 18..90 (years)",
        "gender": {"1": 0.50, "2": 0.48, "3": 0.02},
        "education": "ordered logit on -0.25 * (age - 48) / 10 with cut points -1.0, 1.0",
        "income": "1..5 from 0.6 * (education - 2) + N(0, 1) cut at -0.84, -0.25, 0.25, 0.84",
        "area": "rural with the municipality's rural share ~ Beta(2, 3)",
        "digital_skills": {
            "equation": ("S = -0.30 * age10 - 0.25 * female + 0.25 * (education - 2) "
                         "+ 0.10 * (income - 3) + N(0, 0.85^2), age10 = (age - 50) / 10"),
            "age10": -0.30, "female": -0.25},
        "digital_coproduction": {
            "equation": ("logit P(item k = 1) = c_k + D, D = u_m - 0.35 * age10 - 0.25 * female "
                         "+ 0.30 * R_m + 0.12 * R_m * age10 + 0.50 * S + N(0, 1)"),
            "item_intercepts": {"ct_pcd_report": -0.6, "ct_pcd_form": 0.4, "ct_pcd_forum": -1.6,
                                "ct_pcd_ref": -2.0},
            "age10": -0.35, "female": -0.25, "R_municipality": 0.30,
            "R_municipality_x_age10": 0.12, "digital_skills": 0.50,
            "municipality_random_intercept_sd": 0.50, "person_sd": 1.0},
        "offline_coproduction": {
            "equation": "logit P(item k = 1) = c_k + 0.20 * age10 + 0.40 * efficacy + N(0, 1)",
            "item_intercepts": {"ct_pco_report": -0.9, "ct_pco_form": -0.3, "ct_pco_meeting": -1.5,
                                "ct_pco_ref": -0.8}},
        "trust_government": "0.20 * R_m + t_m + N(0, 0.9^2), t_m ~ N(0, 0.3^2)",
        "political_efficacy": "0.30 * (education - 2) + N(0, 0.9^2)",
        "coproduction_attitude": "0.30 * efficacy + 0.20 * trust + N(0, 0.9^2)",
        "willingness_digital": "0.55 * S + 0.20 * trust + N(0, 0.8^2)",
        "willingness_offline": "0.30 * efficacy + 0.15 * age10 + N(0, 0.9^2)",
        "barrier_tech_anxiety": "-0.60 * S + N(0, 0.8^2)",
        "barrier_privacy": "-0.30 * trust + N(0, 0.9^2)",
        "barrier_access": "-0.45 * S + 0.15 * age10 - 0.20 * (income - 3) + N(0, 0.85^2)",
        "perceived_benefits": "0.40 * S + 0.20 * trust + N(0, 0.85^2)",
        "satisfaction_digital": "0.30 * trust + 0.30 * S + 0.20 * R_m + N(0, 0.85^2)",
    },
    "measurement": {
        "item_equation": "z = loading * eta + sqrt(1 - loading^2) * e, e ~ N(0, 1)",
        "loadings_cycle": [0.80, 0.75, 0.70, 0.65, 0.72],
        "thresholds": [-1.6, -0.6, 0.3, 1.3],
        "answer": "1 + number of thresholds below z + shift (shift per construct, below)",
        "construct_shift": {"default": 0.3, "dc_engagement": -0.4, "resistance_to_change": -0.2,
                            "barrier_access": -1.0, "barrier_tech_anxiety": -0.4,
                            "challenges": 0.0, "psm": 0.6},
        "reverse_keyed": "answered as 6 - answer (the item is worded against the construct)",
    },
    "response_behaviour": {
        "straight_liner_share": 0.02,
        "straight_liners": "every 1..5 item gets the same answer, drawn from {3: 0.4, 4: 0.3, 5: 0.2, 1: 0.1}",
        "item_nonresponse_mcar": 0.03,
        "demographic_nonresponse_mcar": 0.01,
        "coded_missing": {"code": -99,
                          "share_of_missing_cells_coded": 0.5,
                          "public_servant_columns": ["ps_psm_ss2", "ps_rdy_fin2", "ps_eng3"],
                          "citizen_columns": ["ct_trust2", "ct_priv3", "income"]},
    },
}

# The analysis models whose estimates EXPECTED records (README.md explains them).
STATED_MODELS: dict = {
    "scoring": ("scale scores = mean of reverse-keyed items with at least 50% answered "
                "(analysis.scoring.score_instrument), -99 treated as missing; readiness_index = "
                "mean of the seven readiness dimension scores (missing if any is missing)"),
    "icc1": "multilevel::ICC1(aov(score ~ factor(org_id))) on public servants",
    "engagement_model": ("lmer(dc_engagement ~ readiness_org_c * digital_skills_c + (1 | org_id), "
                         "REML = TRUE); readiness_org_c = organisation mean of readiness_index minus "
                         "the respondent-level mean; digital_skills_c = grand-mean-centred digital_skills"),
    "citizen_digital_coproduction_model": (
        "lmer(past_coproduction_digital ~ age10_c * readiness_mun_c + female + (1 | municipality_id), "
        "REML = TRUE); age10_c = (age - 50) / 10; female = gender == 1; readiness_mun_c = mean "
        "readiness_index of the public servants of the serving organisation, centred over the "
        "60 municipalities"),
    "citizen_digital_skills_model": "lm(digital_skills ~ age10_c + female) on citizens",
}

READINESS_ICC = POPULATION["readiness"]["latent_icc"]
LOADINGS = POPULATION["measurement"]["loadings_cycle"]
THRESHOLDS = np.array(POPULATION["measurement"]["thresholds"])
MISSING_CODE = -99

# Expected estimates of the stated analysis models under this design: mean and standard
# deviation over 200 Monte Carlo replications of the design with seeds SEED + 1000 + r
# (python sample_data/generate.py --calibrate 200 reprints them).
EXPECTED: dict = {
    "icc1_readiness_index": {"mean": 0.2479, "sd": 0.0561},
    "icc1_rdy_strategy": {"mean": 0.1373, "sd": 0.0379},
    "icc1_rdy_structure": {"mean": 0.1032, "sd": 0.0318},
    "icc1_rdy_flexwork": {"mean": 0.1709, "sd": 0.0457},
    "icc1_rdy_finance": {"mean": 0.2078, "sd": 0.0471},
    "icc1_rdy_training": {"mean": 0.1357, "sd": 0.0341},
    "icc1_rdy_leadership": {"mean": 0.1041, "sd": 0.031},
    "icc1_rdy_regulation": {"mean": 0.0747, "sd": 0.0248},
    "icc1_dc_engagement": {"mean": 0.1782, "sd": 0.0469},
    "engagement_model.intercept": {"mean": 2.7775, "sd": 0.0641},
    "engagement_model.readiness_org_c": {"mean": 0.9841, "sd": 0.1253},
    "engagement_model.digital_skills_c": {"mean": 0.246, "sd": 0.0346},
    "engagement_model.readiness_org_c:digital_skills_c": {"mean": 0.3908, "sd": 0.0963},
    "engagement_model.tau00": {"mean": 0.0448, "sd": 0.0148},
    "engagement_model.sigma2": {"mean": 0.505, "sd": 0.0181},
    "citizen_digital_coproduction_model.intercept": {"mean": 0.3498, "sd": 0.012},
    "citizen_digital_coproduction_model.age10_c": {"mean": -0.0745, "sd": 0.0033},
    "citizen_digital_coproduction_model.female": {"mean": -0.055, "sd": 0.0079},
    "citizen_digital_coproduction_model.readiness_mun_c": {"mean": 0.1083, "sd": 0.0397},
    "citizen_digital_coproduction_model.age10_c:readiness_mun_c": {"mean": 0.0356, "sd": 0.0113},
    "citizen_digital_coproduction_model.tau00": {"mean": 0.0058, "sd": 0.0014},
    "citizen_digital_coproduction_model.sigma2": {"mean": 0.0674, "sd": 0.002},
    "citizen_digital_skills_model.Intercept": {"mean": 3.4339, "sd": 0.0158},
    "citizen_digital_skills_model.age10_c": {"mean": -0.2305, "sd": 0.007},
    "citizen_digital_skills_model.female": {"mean": -0.1726, "sd": 0.0218},
}


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _shift(construct_key: str) -> float:
    shifts = POPULATION["measurement"]["construct_shift"]
    if construct_key in shifts:
        return shifts[construct_key]
    if construct_key.startswith("challenges"):
        return shifts["challenges"]
    if construct_key.startswith("psm"):
        return shifts["psm"]
    return shifts["default"]


def _likert(rng, eta: np.ndarray, construct, answers: dict) -> None:
    """Discretise ``eta`` into the construct's items (reverse items answered reversed)."""
    shift = _shift(construct.key)
    for k, item in enumerate(construct.items):
        loading = LOADINGS[k % len(LOADINGS)]
        z = loading * eta + np.sqrt(1 - loading ** 2) * rng.standard_normal(eta.size) + shift
        x = 1 + (z[:, None] > THRESHOLDS[None, :]).sum(axis=1)
        if item.reverse:
            x = item.scale.min + item.scale.max - x
        answers[item.id] = x


def _binary(rng, propensity: np.ndarray, construct, intercepts: dict, answers: dict) -> None:
    for item in construct.items:
        p = 1 / (1 + np.exp(-(intercepts[item.id] + propensity)))
        answers[item.id] = (rng.random(propensity.size) < p).astype(int)


def _org_sizes(rng) -> np.ndarray:
    d = POPULATION["design"]
    n_org, total = d["n_organisations"], d["n_servants"]
    raw = np.exp(rng.normal(d["org_size_lognormal"]["meanlog"], d["org_size_lognormal"]["sdlog"], n_org))
    small = d["small_organisations"]["sizes"]
    order = np.argsort(raw)
    sizes = np.zeros(n_org, dtype=int)
    sizes[order[:len(small)]] = small
    rest = order[len(small):]
    share = raw[rest] / raw[rest].sum()
    sizes[rest] = np.maximum(5, np.floor(share * (total - sum(small))).astype(int))
    sizes[order[-1]] += total - sizes.sum()  # largest organisation absorbs rounding
    return sizes


def _mun_sizes(rng) -> np.ndarray:
    d = POPULATION["design"]
    m = d["municipality_size_lognormal"]
    raw = np.exp(rng.normal(m["meanlog"], m["sdlog"], d["n_organisations"]))
    sizes = np.maximum(m["minimum"], np.floor(raw / raw.sum() * d["n_citizens"]).astype(int))
    sizes[np.argmax(sizes)] += d["n_citizens"] - sizes.sum()
    return sizes


def _categorical(rng, probs: dict, n: int) -> np.ndarray:
    codes = np.array([int(k) for k in probs])
    return rng.choice(codes, size=n, p=np.array(list(probs.values())) / sum(probs.values()))


def _careless(rng, frame: pd.DataFrame, instrument, share: float) -> np.ndarray:
    """Make ``share`` of the respondents straight-line every 1..5 item; return their rows."""
    n = len(frame)
    rows = np.sort(rng.choice(n, size=int(round(share * n)), replace=False))
    values = rng.choice([3, 4, 5, 1], size=rows.size, p=[0.4, 0.3, 0.2, 0.1])
    cols = [c.item_ids for c in instrument.constructs if c.kind == "likert"]
    cols = [i for ids in cols for i in ids]
    block = np.repeat(values[:, None], len(cols), axis=1)
    frame.iloc[rows, [frame.columns.get_loc(c) for c in cols]] = block
    return rows


def _nonresponse(rng, frame: pd.DataFrame, item_cols: list[str], demo_cols: list[str],
                 coded_cols: list[str]) -> None:
    behaviour = POPULATION["response_behaviour"]
    for cols, share in ((item_cols, behaviour["item_nonresponse_mcar"]),
                        (demo_cols, behaviour["demographic_nonresponse_mcar"])):
        for col in cols:
            gone = rng.random(len(frame)) < share
            values = frame[col].astype("Float64")
            values[gone] = pd.NA
            if col in coded_cols:
                coded = gone & (rng.random(len(frame)) < behaviour["coded_missing"]["share_of_missing_cells_coded"])
                values[coded] = MISSING_CODE
            frame[col] = values.round().astype("Int64")


# --------------------------------------------------------------------------------------
# the two surveys
# --------------------------------------------------------------------------------------
def simulate(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Return (servants, citizens, truth); ``truth`` holds latent org readiness etc."""
    rng = np.random.default_rng(seed)
    ps_inst, ct_inst = load_instrument("public_servant"), load_instrument("citizen")
    n_org = POPULATION["design"]["n_organisations"]

    # ---- organisation / municipality level ----
    org_sizes = _org_sizes(rng)
    R = rng.standard_normal(n_org)
    org_type = _categorical(rng, POPULATION["servants"]["demographics"]["org_type (per organisation)"], n_org)
    dims = list(READINESS_ICC)
    u = {d: 0.8 * R + 0.6 * rng.standard_normal(n_org) for d in dims}
    v_eng = 0.25 * rng.standard_normal(n_org)

    # ---- public servants ----
    org = np.repeat(np.arange(n_org), org_sizes)
    n = org.size
    demo = POPULATION["servants"]["demographics"]
    role = _categorical(rng, demo["role"], n)
    gender = _categorical(rng, demo["gender"], n)
    age = np.clip(np.round(rng.normal(45, 11, n)), 21, 66).astype(int)
    tenure = np.minimum(age - 20, np.round(rng.gamma(2.0, 6.0, n))).astype(int)
    P = rng.standard_normal(n)
    eta, w_part = {}, {}
    for d in dims:
        w = 0.5 * P + np.sqrt(0.75) * rng.standard_normal(n)
        icc = READINESS_ICC[d]
        eta[d] = np.sqrt(icc) * u[d][org] + np.sqrt(1 - icc) * w
        w_part[d] = w
    rbar = np.mean([eta[d] for d in dims], axis=0)
    wbar = np.mean([w_part[d] for d in dims], axis=0)
    S = -0.30 * (age - 45) / 10 + 0.30 * (role == 2) + 0.9 * rng.standard_normal(n)
    G = rng.standard_normal(n)
    psm = {k: 0.7 * G + 0.71 * rng.standard_normal(n)
           for k in ("psm_attraction", "psm_public_values", "psm_compassion", "psm_self_sacrifice")}
    A = 0.35 * G + 0.20 * rbar + 0.9 * rng.standard_normal(n)
    PU = 0.35 * A + 0.25 * S + 0.25 * rbar + 0.85 * rng.standard_normal(n)
    PEOU = 0.50 * S + 0.20 * eta["rdy_training"] + 0.85 * rng.standard_normal(n)
    RES = -0.35 * S - 0.30 * A + 0.85 * rng.standard_normal(n)
    Ro = R[org]
    E = (0.40 * Ro + 0.30 * S + 0.15 * Ro * S + 0.15 * wbar + 0.20 * A + v_eng[org]
         + 0.75 * rng.standard_normal(n))
    latent = {"digital_skills": S, "coproduction_attitude": A, **psm,
              "perceived_usefulness": PU, "perceived_ease_of_use": PEOU, **eta,
              "resistance_to_change": RES, "dc_engagement": E}
    for c in ps_inst.constructs:
        if c.family == "benefits":
            latent[c.key] = 0.45 * PU + 0.20 * E + 0.85 * rng.standard_normal(n)
        elif c.family == "challenges":
            latent[c.key] = 0.40 * RES - 0.20 * rbar + 0.9 * rng.standard_normal(n)
        elif c.key == "outcome_human_touch":
            latent[c.key] = 0.40 * RES + 0.9 * rng.standard_normal(n)
        elif c.family == "outcomes":
            latent[c.key] = 0.50 * PU + 0.85 * rng.standard_normal(n)
    answers: dict = {}
    for c in ps_inst.constructs:
        _likert(rng, latent[c.key], c, answers)
    servants = pd.DataFrame({"respondent_id": 100001 + np.arange(n), "org_id": 101 + org,
                             "municipality_id": 1 + org})
    servants = pd.concat([servants, pd.DataFrame(answers)[ps_inst.item_ids]], axis=1)
    servants["role"], servants["org_type"], servants["gender"] = role, org_type[org], gender
    servants["age"], servants["tenure"] = age, tenure
    ps_careless = _careless(rng, servants, ps_inst, POPULATION["response_behaviour"]["straight_liner_share"])
    coded = POPULATION["response_behaviour"]["coded_missing"]
    _nonresponse(rng, servants, ps_inst.item_ids, ["role", "gender", "age", "tenure"],
                 coded["public_servant_columns"])

    # ---- citizens ----
    mun_sizes = _mun_sizes(rng)
    mun = np.repeat(np.arange(n_org), mun_sizes)
    m = mun.size
    rural_share = rng.beta(2, 3, n_org)
    u_dc = 0.50 * rng.standard_normal(n_org)
    t_m = 0.30 * rng.standard_normal(n_org)
    c_age = np.clip(np.round(rng.normal(48, 17, m)), 18, 90).astype(int)
    c_gender = _categorical(rng, POPULATION["citizens"]["gender"], m)
    age10 = (c_age - 50) / 10
    female = (c_gender == 1).astype(float)
    edu_latent = -0.25 * (c_age - 48) / 10 + rng.logistic(size=m)
    education = 1 + (edu_latent > -1.0) + (edu_latent > 1.0)
    inc_latent = 0.6 * (education - 2) + rng.standard_normal(m)
    income = 1 + (inc_latent[:, None] > np.array([-0.84, -0.25, 0.25, 0.84])[None, :]).sum(axis=1)
    area = np.where(rng.random(m) < rural_share[mun], 2, 1)
    Rm = R[mun]
    cS = (-0.30 * age10 - 0.25 * female + 0.25 * (education - 2) + 0.10 * (income - 3)
          + 0.85 * rng.standard_normal(m))
    trust = 0.20 * Rm + t_m[mun] + 0.9 * rng.standard_normal(m)
    eff = 0.30 * (education - 2) + 0.9 * rng.standard_normal(m)
    clat = {
        "digital_skills": cS, "trust_government": trust, "political_efficacy": eff,
        "coproduction_attitude": 0.30 * eff + 0.20 * trust + 0.9 * rng.standard_normal(m),
        "willingness_digital": 0.55 * cS + 0.20 * trust + 0.8 * rng.standard_normal(m),
        "willingness_offline": 0.30 * eff + 0.15 * age10 + 0.9 * rng.standard_normal(m),
        "barrier_tech_anxiety": -0.60 * cS + 0.8 * rng.standard_normal(m),
        "barrier_privacy": -0.30 * trust + 0.9 * rng.standard_normal(m),
        "barrier_access": -0.45 * cS + 0.15 * age10 - 0.20 * (income - 3) + 0.85 * rng.standard_normal(m),
        "perceived_benefits": 0.40 * cS + 0.20 * trust + 0.85 * rng.standard_normal(m),
        "satisfaction_digital": 0.30 * trust + 0.30 * cS + 0.20 * Rm + 0.85 * rng.standard_normal(m),
    }
    dc = POPULATION["citizens"]["digital_coproduction"]
    D = (u_dc[mun] + dc["age10"] * age10 + dc["female"] * female + dc["R_municipality"] * Rm
         + dc["R_municipality_x_age10"] * Rm * age10 + dc["digital_skills"] * cS
         + dc["person_sd"] * rng.standard_normal(m))
    off = 0.20 * age10 + 0.40 * eff + rng.standard_normal(m)
    canswers: dict = {}
    for c in ct_inst.constructs:
        if c.key == "past_coproduction_digital":
            _binary(rng, D, c, dc["item_intercepts"], canswers)
        elif c.key == "past_coproduction_offline":
            _binary(rng, off, c, POPULATION["citizens"]["offline_coproduction"]["item_intercepts"], canswers)
        else:
            _likert(rng, clat[c.key], c, canswers)
    citizens = pd.DataFrame({"respondent_id": 200001 + np.arange(m), "municipality_id": 1 + mun})
    citizens = pd.concat([citizens, pd.DataFrame(canswers)[ct_inst.item_ids]], axis=1)
    citizens["age"], citizens["gender"], citizens["education"] = c_age, c_gender, education
    citizens["income"], citizens["area"] = income, area
    ct_careless = _careless(rng, citizens, ct_inst, POPULATION["response_behaviour"]["straight_liner_share"])
    _nonresponse(rng, citizens, ct_inst.item_ids, ["age", "gender", "education", "income", "area"],
                 coded["citizen_columns"])

    truth = {
        "org_readiness": {int(101 + j): float(R[j]) for j in range(n_org)},
        "org_sizes": {int(101 + j): int(org_sizes[j]) for j in range(n_org)},
        "municipality_sizes": {int(1 + j): int(mun_sizes[j]) for j in range(n_org)},
        "straight_liners": {"public_servants": [int(x) for x in servants["respondent_id"].to_numpy()[ps_careless]],
                            "citizens": [int(x) for x in citizens["respondent_id"].to_numpy()[ct_careless]]},
    }
    return servants, citizens, truth


# --------------------------------------------------------------------------------------
# the stated analysis models (what later analyses should recover)
# --------------------------------------------------------------------------------------
READINESS_KEYS = list(READINESS_ICC)


def icc1_anova(values: pd.Series, groups: pd.Series) -> float:
    """ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW) from a one-way ANOVA, with k the mean
    group size N / J as in Bliese (2000) and R's ``multilevel::ICC1(aov(y ~ factor(g)))``."""
    frame = pd.DataFrame({"y": values, "g": groups}).dropna()
    grand = frame["y"].mean()
    stats = frame.groupby("g")["y"].agg(["count", "mean"])
    k, n = len(stats), len(frame)
    ss_between = float((stats["count"] * (stats["mean"] - grand) ** 2).sum())
    ss_within = float(((frame["y"] - frame.groupby("g")["y"].transform("mean")) ** 2).sum())
    msb, msw = ss_between / (k - 1), ss_within / (n - k)
    mean_size = n / k
    return (msb - msw) / (msb + (mean_size - 1) * msw)


def scored(servants: pd.DataFrame, citizens: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scale scores (-99 treated as missing) plus the derived model variables."""
    ps_inst, ct_inst = load_instrument("public_servant"), load_instrument("citizen")
    ps = score_instrument(servants.replace(MISSING_CODE, np.nan), ps_inst)
    ct = score_instrument(citizens.replace(MISSING_CODE, np.nan), ct_inst)
    ps["readiness_index"] = ps[READINESS_KEYS].mean(axis=1, skipna=False)
    org_mean = ps.groupby("org_id")["readiness_index"].mean()
    ps["readiness_org_c"] = ps["org_id"].map(org_mean) - ps["readiness_index"].mean()
    ps["digital_skills_c"] = ps["digital_skills"] - ps["digital_skills"].mean()
    mun_readiness = ps.groupby("municipality_id")["readiness_index"].mean()
    ct["readiness_mun_c"] = ct["municipality_id"].map(mun_readiness) - mun_readiness.mean()
    ct["age10_c"] = (ct["age"] - 50) / 10
    ct["female"] = (ct["gender"] == 1).astype(float).where(ct["gender"].notna())
    return ps, ct


def stated_models(servants: pd.DataFrame, citizens: pd.DataFrame) -> dict:
    """Estimates of the models documented in README.md (statsmodels; R calls in README)."""
    import warnings

    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # statsmodels retries with lbfgs itself
        return _stated_models(servants, citizens)


def _stated_models(servants: pd.DataFrame, citizens: pd.DataFrame) -> dict:
    import statsmodels.formula.api as smf

    ps, ct = scored(servants, citizens)
    out: dict = {"icc1_readiness_index": icc1_anova(ps["readiness_index"], ps["org_id"])}
    for key in READINESS_KEYS:
        out[f"icc1_{key}"] = icc1_anova(ps[key], ps["org_id"])
    out["icc1_dc_engagement"] = icc1_anova(ps["dc_engagement"], ps["org_id"])

    frame = ps[["dc_engagement", "readiness_org_c", "digital_skills_c", "org_id"]].dropna()
    fit = smf.mixedlm("dc_engagement ~ readiness_org_c * digital_skills_c", frame,
                      groups=frame["org_id"]).fit(reml=True)
    names = {"Intercept": "intercept", "readiness_org_c": "readiness_org_c",
             "digital_skills_c": "digital_skills_c",
             "readiness_org_c:digital_skills_c": "readiness_org_c:digital_skills_c"}
    out["engagement_model"] = {v: float(fit.fe_params[k]) for k, v in names.items()}
    out["engagement_model"]["tau00"] = float(fit.cov_re.iloc[0, 0])
    out["engagement_model"]["sigma2"] = float(fit.scale)

    frame = ct[["past_coproduction_digital", "age10_c", "female", "readiness_mun_c",
                "municipality_id"]].dropna()
    fit = smf.mixedlm("past_coproduction_digital ~ age10_c * readiness_mun_c + female", frame,
                      groups=frame["municipality_id"]).fit(reml=True)
    out["citizen_digital_coproduction_model"] = {
        "intercept": float(fit.fe_params["Intercept"]), "age10_c": float(fit.fe_params["age10_c"]),
        "female": float(fit.fe_params["female"]),
        "readiness_mun_c": float(fit.fe_params["readiness_mun_c"]),
        "age10_c:readiness_mun_c": float(fit.fe_params["age10_c:readiness_mun_c"]),
        "tau00": float(fit.cov_re.iloc[0, 0]), "sigma2": float(fit.scale)}

    frame = ct[["digital_skills", "age10_c", "female"]].dropna()
    ols = smf.ols("digital_skills ~ age10_c + female", frame).fit()
    out["citizen_digital_skills_model"] = {k: float(ols.params[k]) for k in ("Intercept", "age10_c", "female")}
    return out


def _flatten(d: dict, prefix: str = "") -> dict:
    flat = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            flat.update(_flatten(v, key + "."))
        else:
            flat[key] = v
    return flat


def calibrate(replications: int = 40) -> dict:
    """Mean and SD of the stated-model estimates over replications of the design."""
    runs = []
    for r in range(replications):
        servants, citizens, _ = simulate(SEED + 1000 + r)
        runs.append(_flatten(stated_models(servants, citizens)))
    table = pd.DataFrame(runs)
    return {k: {"mean": round(float(table[k].mean()), 4), "sd": round(float(table[k].std(ddof=1)), 4)}
            for k in table.columns}


# --------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------
def _labels_for(instrument, frame: pd.DataFrame, coded_cols: list[str]):
    value_labels, column_labels = {}, {}
    for it in instrument.items:
        value_labels[it.id] = {int(k): v for k, v in it.scale.labels.items()}
        column_labels[it.id] = it.text[:250]
    for d in instrument.demographics:
        column_labels[d.id] = d.label
        if d.levels:
            value_labels[d.id] = dict(d.levels)
    for col in coded_cols:
        value_labels.setdefault(col, {})[MISSING_CODE] = "No answer"
    column_labels[instrument.id_column] = "Respondent id"
    for level, col in instrument.group_columns.items():
        column_labels[col] = f"{level.capitalize()} id"
    return value_labels, {c: column_labels.get(c) for c in frame.columns}


def write_outputs(out_dir: Path | str = OUT_DIR, seed: int = SEED) -> dict:
    """Write the CSV, XLSX and SAV files and parameters.json; return the truth record."""
    import pyreadstat

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    servants, citizens, truth = simulate(seed)
    coded = POPULATION["response_behaviour"]["coded_missing"]
    for name, frame, inst_id, coded_cols in (
            ("public_servants", servants, "public_servant", coded["public_servant_columns"]),
            ("citizens", citizens, "citizen", coded["citizen_columns"])):
        instrument = load_instrument(inst_id)
        frame.to_csv(out_dir / f"{name}.csv", index=False, lineterminator="\n")
        codebook = instrument.codebook()
        with pd.ExcelWriter(out_dir / f"{name}.xlsx", engine="openpyxl") as writer:
            frame.astype(object).where(frame.notna(), None).to_excel(
                writer, sheet_name="responses", index=False)
            codebook.to_excel(writer, sheet_name="codebook", index=False)
        value_labels, column_labels = _labels_for(instrument, frame, coded_cols)
        pyreadstat.write_sav(frame.astype("float64"), str(out_dir / f"{name}.sav"),
                             file_label=instrument.title, column_labels=column_labels,
                             variable_value_labels=value_labels,
                             missing_ranges={c: [MISSING_CODE] for c in coded_cols},
                             row_compress=True)
    record = {"population": POPULATION, "stated_models": STATED_MODELS, "expected_estimates": EXPECTED,
              "files": {"public_servants": {"rows": len(servants), "columns": list(servants.columns)},
                        "citizens": {"rows": len(citizens), "columns": list(citizens.columns)}},
              "truth": truth}
    (out_dir / "parameters.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(OUT_DIR), help="output folder (default: sample_data/)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--calibrate", type=int, nargs="?", const=40, metavar="REPLICATIONS",
                        help="print Monte Carlo means/SDs of the stated models instead of writing files")
    args = parser.parse_args(argv)
    if args.calibrate:
        print(json.dumps(calibrate(args.calibrate), indent=1))
        return 0
    record = write_outputs(args.out, args.seed)
    print(f"wrote {args.out}: {record['files']['public_servants']['rows']} public servants, "
          f"{record['files']['citizens']['rows']} citizens")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
