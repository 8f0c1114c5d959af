"""Attack tests for the disclosure rule (analysis.privacy): search the views, solve for people.

For every view a screen offers (all value sets of its filter columns, alone and in pairs),
the test takes the rows each published number was computed from, checks that the published
n and mean are exactly those of the rows, and then asks linear algebra whether any
combination of all published sums singles out fewer than ``min_n`` respondents. Respondents
who belong to exactly the same published cells cannot be told apart by any linear
combination; so the search groups respondents by their membership pattern and requires
every non-empty pattern to hold at least ``min_n`` people.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import cli, privacy, topics
from analysis.derived import with_age_band
from analysis.errors import InputError
from analysis.instruments import load_instrument
from analysis.pipeline import prepare
from analysis.readiness import readiness

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "public_servants.csv"
MIN_N = 5


@pytest.fixture(scope="module")
def ips():
    return load_instrument("public_servant")


@pytest.fixture(scope="module")
def sample(ips):
    return with_age_band(prepare(str(SAMPLE), ips).data.reset_index(drop=True))


@pytest.fixture(scope="module")
def small_study(sample):
    """A small study made from the sample: four organisations of 16, 11, 7 and 3 people."""
    rng = np.random.default_rng(11)
    parts = []
    for new_id, size in zip((1, 2, 3, 4), (16, 11, 7, 3)):
        rows = sample.iloc[rng.choice(len(sample), size, replace=False)].copy()
        rows["org_id"] = new_id
        rows["municipality_id"] = new_id
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def value_sets(values):
    values = list(values)
    return [list(c) for r in range(1, len(values) + 1) for c in itertools.combinations(values, r)]


def no_small_pattern(vectors: list[np.ndarray], n: int) -> tuple[bool, int]:
    """Whether every non-empty membership pattern over ``vectors`` holds >= MIN_N people."""
    if not vectors:
        return True, 0
    m = np.array(vectors, dtype=bool).T  # respondents x published cells
    seen = m.any(axis=1)
    patterns = pd.Series([row.tobytes() for row in m[seen]])
    smallest = int(patterns.value_counts().min()) if len(patterns) else 0
    return smallest >= MIN_N, smallest


def published_cells(data, ips, filters, part, keys, vectors):
    """Run the screen's distributions for one view; record each construct's contributor rows."""
    try:
        check = privacy.check_filter(data, filters, MIN_N, instrument=ips, partition=part)
    except InputError as exc:
        assert "respondents" in str(exc) and not any(ch.isdigit() for ch in str(exc).split("(")[0][-20:])
        return 0
    table = topics.describe_constructs(check.data, ips, keys, min_n=MIN_N).set_index("construct")
    for k in keys:
        rows = topics.published(check.data, check.data[k].notna(), MIN_N)
        used = check.data.index[rows.to_numpy()]
        assert table.loc[k, "n"] == len(used)
        if len(used):
            assert table.loc[k, "mean"] == pytest.approx(data.loc[used, k].mean(), abs=1e-12)
            vec = np.zeros(len(data), dtype=bool)
            vec[used] = True
            vectors[k].append(vec)
    return 1


def test_partition_blocks_are_large_and_cover_everyone_they_can(sample, ips):
    part = privacy.partition_for(sample, ips, MIN_N)
    sizes = np.bincount(part.block[part.block >= 0])
    assert sizes.min() >= MIN_N
    assert part.columns[0] == "org_id"
    assert (part.block >= 0).mean() > 0.99
    # the pages, the command and this test see the same partition
    again = privacy.partition_for(sample.sample(frac=1, random_state=1).sort_index(), ips, MIN_N)
    assert (again.block == part.block).all()


def _views(columns: dict, together: list[str]):
    """Every combination of value sets over ``together`` (each column also left out), and every
    pair of value sets of the other columns with any one column of ``together``."""
    options = {c: [None] + value_sets(v) for c, v in columns.items()}
    for combo in itertools.product(*(options[c] for c in together)):
        yield {c: v for c, v in zip(together, combo) if v is not None}
    for other in [c for c in columns if c not in together]:
        for c in [None, *together]:
            for s1 in options[other][1:]:
                for s2 in (options[c][1:] if c else [None]):
                    yield {other: s1} if s2 is None else {other: s1, c: s2}


@pytest.mark.slow
def test_every_value_set_view_of_a_small_study_isolates_nobody(small_study, ips):
    data = small_study
    part = privacy.partition_for(data, ips, MIN_N)
    keys = topics.topic_one_keys(ips)
    columns = {"org_id": sorted(data["org_id"].unique()), "gender": sorted(data["gender"].dropna().unique()),
               "age_band": sorted(data["age_band"].dropna().unique()), "role": sorted(data["role"].dropna().unique())}
    vectors: dict = {k: [] for k in keys}
    shown = 0
    for i, filters in enumerate(_views(columns, ["org_id", "gender", "age_band"])):
        if i % 11 == 0:  # the screen's table for this view, checked against its rows
            shown += published_cells(data, ips, filters, part, keys, vectors)
            continue
        try:
            view = privacy.check_filter(data, filters, MIN_N, instrument=ips, partition=part).data
        except InputError:
            continue
        shown += 1
        for k in keys:
            used = view.index[topics.published(view, view[k].notna(), MIN_N).to_numpy()]
            vec = np.zeros(len(data), dtype=bool)
            vec[used] = True
            vectors[k].append(vec)
    assert shown > 200
    for k in keys:
        ok, smallest = no_small_pattern(vectors[k], len(data))
        assert ok, f"{k}: a combination of published views singles out {smallest} respondents"
    # the same with the linear algebra written out: no respondent's indicator is in the row space
    a = np.unique(np.array(vectors[keys[0]], dtype=float), axis=0)
    rank = np.linalg.matrix_rank(a)
    for i in range(len(data)):
        e = np.zeros(len(data))
        e[i] = 1
        assert np.linalg.matrix_rank(np.vstack([a, e])) == rank + 1, f"respondent {i} is derivable"


def _record(data, ips, filters, part, keys, vectors) -> int:
    """The fast path of ``published_cells``: the rows each construct's numbers would use."""
    try:
        view = privacy.check_filter(data, filters, MIN_N, instrument=ips, partition=part).data
    except InputError:
        return 0
    for k in keys:
        used = view.index[topics.published(view, view[k].notna(), MIN_N).to_numpy()]
        vec = np.zeros(len(data), dtype=bool)
        vec[used] = True
        vectors[k].append(vec)
    return 1


@pytest.mark.slow
def test_sibling_value_sets_on_the_sample_reveal_nobody(sample, ips):
    """The skills screen's filters on the sample: every organisation with every value set of
    gender, age band and role; every combination of value sets of those three over everyone;
    and every value set of organisation type and municipality pairs (the issue's links among them)."""
    part = privacy.partition_for(sample, ips, MIN_N)
    keys = topics.topic_one_keys(ips)[:2]
    vectors: dict = {k: [] for k in keys}
    demo = {c: sorted(sample[c].dropna().unique()) for c in ("gender", "age_band", "role")}
    for i, org in enumerate(sorted(sample["org_id"].unique())):
        check = published_cells if i % 10 == 0 else _record  # the screen's table, checked, for some
        check(sample, ips, {"org_id": [org]}, part, keys, vectors)
        for c, values in demo.items():
            for s in value_sets(values):
                check(sample, ips, {"org_id": [org], c: s}, part, keys, vectors)
    options = {c: [None] + value_sets(v) for c, v in demo.items()}
    for combo in itertools.product(*options.values()):
        _record(sample, ips, {c: v for c, v in zip(options, combo) if v is not None}, part, keys, vectors)
    for s in value_sets(sorted(sample["org_type"].dropna().unique())):
        _record(sample, ips, {"org_type": s}, part, keys, vectors)
    munis = sorted(sample["municipality_id"].unique())
    for a_, b_ in itertools.combinations(munis[:20], 2):
        _record(sample, ips, {"municipality_id": [a_, b_]}, part, keys, vectors)
    for k in keys:
        ok, smallest = no_small_pattern(vectors[k], len(sample))
        assert ok, f"{k}: a combination of published views singles out {smallest} respondents"
        assert len(vectors[k]) > 2000


def _command(*args) -> dict:
    """``python -m analysis topics ...`` through its entry point in this process (the refusal test
    below runs a real process, for the exit status and the empty stdout)."""
    out = io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out):
        assert cli.main(["topics", str(SAMPLE), "--instrument", "public_servant", "--section", "distributions",
                         *args, "--json"]) == 0
    return json.loads(out.getvalue())


def test_the_two_links_of_the_audit_differ_by_zero_or_a_whole_block(sample, ips):
    man = _command("--where", "org_id=103", "--where", "gender=Man")
    both = _command("--where", "org_id=103", "--where", "gender=Man,Other or prefer to self-describe")
    assert man["filters"] == {"org_id": [103], "gender": [2]}
    for a, b in zip(man["table"], both["table"]):
        diff = b["n"] - a["n"]
        assert diff == 0 or diff >= MIN_N
        if diff == 0 and a["n"]:
            assert a["mean"] == b["mean"]
    # the command gives the library's numbers
    lib = topics.distributions(sample, ips, {"org_id": [103], "gender": [2]}, min_n=MIN_N)
    assert [r["n"] for r in man["table"]] == lib["n"].tolist()


def test_command_refuses_a_view_of_one_person_without_saying_how_many():
    out = subprocess.run([sys.executable, "-m", "analysis", "topics", str(SAMPLE), "--instrument", "public_servant",
                          "--section", "distributions", "--where", "org_id=103",
                          "--where", "gender=Other or prefer to self-describe", "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and out.stdout == ""
    assert "too few respondents" in out.stderr and " 1 respondent" not in out.stderr


def test_suppressed_rows_are_null_with_n_zero(sample, ips):
    data = sample.copy()
    data.loc[data["org_id"] == 103, "digital_skills"] = np.nan
    data.loc[data.index[data["org_id"] == 103][:2], "digital_skills"] = 3.0
    table = topics.distributions(data, ips, {"org_id": [103]}, min_n=MIN_N).set_index("construct")
    assert table.loc["digital_skills", "n"] == 0 and pd.isna(table.loc["digital_skills", "mean"])


def test_group_tests_use_only_the_published_groups(sample, ips):
    data = sample.copy()
    data.loc[data["role"] == 4, "role"] = 3
    data.loc[data.index[:3], "role"] = 4  # three senior managers
    view = topics.apply_filters(data, {}, MIN_N, instrument=ips)
    res = topics.compare_groups(view, "digital_skills", "role", instrument=ips, min_n=MIN_N)
    shown = res.groups[~res.groups["suppressed"]]
    assert "Senior manager" in " ".join(res.notes)
    assert pd.isna(res.groups.set_index(res.groups["role"].astype(str)).loc["Senior manager", "n"])
    cells = privacy.group_cells(view, view["role"], MIN_N, answered=view["digital_skills"].notna())
    samples = [view.loc[cells == lv, "digital_skills"].to_numpy() for lv in sorted(cells.dropna().unique())]
    assert [len(s) for s in samples] == shown["n"].astype(int).tolist()
    assert res.statistic == pytest.approx(_welch_f(samples), rel=1e-10)
    assert not (view.index[:3].isin(view.index[cells.notna()])).any()


def _welch_f(groups):
    k = len(groups)
    n = np.array([len(g) for g in groups], float)
    m = np.array([g.mean() for g in groups])
    w = n / np.array([g.var(ddof=1) for g in groups])
    mw = (w * m).sum() / w.sum()
    tmp = (((1 - w / w.sum()) ** 2) / (n - 1)).sum()
    return ((w * (m - mw) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) / (k * k - 1) * tmp)


def test_two_group_welch_matches_scipy_on_published_rows(sample, ips):
    view = topics.apply_filters(sample, {"org_type": [1]}, MIN_N, instrument=ips)
    res = topics.compare_groups(view, "digital_skills", "gender", instrument=ips, min_n=MIN_N)
    cells = privacy.group_cells(view, view["gender"], MIN_N, answered=view["digital_skills"].notna())
    shown = sorted(cells.dropna().unique())
    if len(shown) == 2:
        x, y = (view.loc[cells == lv, "digital_skills"] for lv in shown)
        assert res.statistic == pytest.approx(stats.ttest_ind(x, y, equal_var=False).statistic, rel=1e-10)


def test_readiness_by_every_gender_value_set_reveals_nobody(sample, ips):
    vectors = []
    genders = sorted(sample["gender"].dropna().unique())
    for s in [None] + value_sets(genders):
        filters = {"gender": s} if s else None
        res = readiness(sample, ips, "org_id", min_n=MIN_N, filters=filters)
        view = privacy.check_filter(sample, filters, MIN_N, instrument=ips).data
        key = res.dimensions[0]
        cells = privacy.group_cells(view, "org_id", MIN_N, answered=view[key].notna() &
                                    privacy.group_cells(view, "org_id", MIN_N,
                                                        answered=view[res.dimensions].notna().any(axis=1)).notna())
        for _, row in res.groups[~res.groups["suppressed"]].iterrows():
            used = view.index[(cells == row["group"]).to_numpy()]
            assert row[f"{key}_n"] == len(used)
            vec = np.zeros(len(sample), dtype=bool)
            vec[used] = True
            vectors.append(vec)
    ok, smallest = no_small_pattern(vectors, len(sample))
    assert ok, f"readiness views single out {smallest} respondents"


def test_a_raised_threshold_reaches_every_topic_table(sample, ips):
    """With the study's threshold at 10, every table of the topic screens is built from
    blocks with at least 10 answers (so each published n is 0 or at least 10)."""
    view = topics.apply_filters(sample, {"gender": [1]}, 10, instrument=ips)
    tables = [topics.describe_constructs(view, ips, topics.topic_one_keys(ips), min_n=10),
              topics.barriers_enablers(view, ips, min_n=10), topics.outcomes(view, ips, min_n=10),
              topics.correlations(view, topics.topic_one_keys(ips)[:3], min_n=10)]
    for table in tables:
        assert ((table["n"] == 0) | (table["n"] >= 10)).all()
    for k in topics.topic_one_keys(ips):
        rows = topics.published(view, view[k].notna(), 10)
        blocks = view.loc[rows.to_numpy(), privacy.BLOCK]
        assert blocks.empty or blocks.value_counts().min() >= 10
