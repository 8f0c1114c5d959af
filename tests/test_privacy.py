"""Primary and complementary suppression, and the filter guard against difference attacks."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.privacy import (check_filter, disclosure_partition, effective_min_n, group_cells, min_n_floor,
                              protected_rows, suppress)


def _table(sizes):
    return pd.DataFrame({"group": list("abcdefgh"[: len(sizes)]), "n": sizes,
                         "mean": np.arange(len(sizes), dtype=float) + 1.5})


def test_primary_suppression_blanks_values_and_keeps_counts():
    out = suppress(_table([3, 12, 20, 30]), min_n=5, totals=False)
    assert out["suppressed"].tolist() == [True, False, False, False]
    assert out["suppression"].tolist() == ["primary", "", "", ""]
    assert np.isnan(out.loc[0, "mean"]) and out.loc[1, "mean"] == 2.5
    assert out["n"].tolist() == [3, 12, 20, 30]


def test_single_suppressed_cell_gets_next_smallest_partner():
    out = suppress(_table([3, 6, 20, 9]), min_n=5, totals=True)
    assert out["suppressed"].tolist() == [True, True, False, False]
    assert out["suppression"].tolist() == ["primary", "complementary", "", ""]


def test_pooled_suppressed_cells_must_reach_min_n():
    # two small cells of 2 pool to 4 < 5 people: recoverable as a pair, so add a partner
    out = suppress(_table([2, 2, 10, 20]), min_n=5, totals=True)
    assert out["suppressed"].tolist() == [True, True, True, False]
    hidden = out[out["suppressed"]]
    assert len(hidden) >= 2 and hidden["n"].sum() >= 5


def test_nothing_small_nothing_suppressed_and_empty_cells_are_not_protected():
    out = suppress(_table([0, 6, 20]), min_n=5)
    assert not out["suppressed"].any()


def test_forced_cells_are_suppressed_with_partner():
    out = suppress(_table([8, 6, 20]), min_n=5, force=[False, False, True])
    assert out["suppressed"].tolist() == [False, True, True]


def test_two_way_table_margins_protected():
    rng = np.random.default_rng(1)
    rows = []
    for r in range(4):
        for c in range(3):
            rows.append({"r": r, "c": c, "n": int(rng.integers(1, 30)), "v": float(rng.normal())})
    t = pd.DataFrame(rows)
    t.loc[0, "n"] = 2
    t.loc[7, "n"] = 3
    out = suppress(t, "n", 5, value_cols=["v"], totals=["r", "c"])
    for dim, other in (("r", "c"), ("c", "r")):
        for _, part in out.groupby(other):
            hidden = part[part["suppressed"] & (part["n"] > 0)]
            assert len(hidden) == 0 or (len(hidden) >= 2 and hidden["n"].sum() >= 5)
    assert out.loc[out["suppressed"], "v"].isna().all()


def test_bad_min_n_and_count_column():
    with pytest.raises(InputError):
        suppress(_table([3, 6]), min_n=0)
    with pytest.raises(InputError):
        suppress(_table([3, 6]), count_col="size")


@pytest.fixture
def people():
    rng = np.random.default_rng(7)
    n = 200
    df = pd.DataFrame({"org": rng.choice(["A", "B", "C", "D"], n), "gender": rng.choice([1, 2], n),
                       "role": rng.choice([1, 2, 3], n), "y": rng.normal(size=n)})
    df.loc[df.index[:3], "org"] = "S"   # a three-person organisation
    df.loc[df.index[3:5], "role"] = 9   # a role with two people
    return df


def test_filter_smaller_than_min_n_refused_without_the_count(people):
    with pytest.raises(InputError, match="too few respondents") as exc:
        check_filter(people, {"role": [9]}, 5)
    assert "2" not in str(exc.value)


def test_filter_whose_complement_is_small_leaves_out_the_pooled_block(people):
    # everyone but the two people in role 9: their block pools them with others, so the view
    # leaves that whole block out and the difference to the unfiltered total is >= 5
    res = check_filter(people, {"role": [1, 2, 3]}, 5)
    assert res.partial and len(people) - res.n >= 5


def test_sibling_value_sets_differ_by_zero_or_a_block(people):
    sizes = []
    for values in ([1], [2], [3], [1, 2], [1, 3], [2, 3], [1, 2, 3], [9], [1, 9], [1, 2, 3, 9]):
        try:
            sizes.append((set(values), check_filter(people, {"role": values}, 5).n))
        except InputError:
            pass
    for (a, na), (b, nb) in itertools.combinations(sizes, 2):
        if a < b or b < a:
            assert abs(na - nb) == 0 or abs(na - nb) >= 5


def test_allowed_filter_and_unknown_column(people):
    res = check_filter(people, {"gender": [1]}, 5)
    assert res.n == (people["gender"] == 1).sum()
    assert check_filter(people, {"gender": ["1"]}, 5).n == res.n  # values from a URL are text
    with pytest.raises(InputError, match="unknown filter column"):
        check_filter(people, {"nope": [1]}, 5)


def test_protected_groups_leave_grouped_views(people):
    prot = protected_rows(people, "org", 5)
    assert set(people.loc[prot, "org"]) >= {"S"} and prot.sum() >= 5  # S and the block it joins
    res = check_filter(people, {"gender": [1]}, 5, columns=["org", "gender"])
    cells = group_cells(res.data, "org", 5)
    assert "S" not in set(cells.dropna())


def test_partition_blocks_and_withheld_rest():
    df = pd.DataFrame({"g": list("aaaaaabbbbbbbc")})
    part = disclosure_partition(df, ["g"], 5)
    assert sorted(np.bincount(part.block[part.block >= 0]).tolist()) == [7, 7]  # c joins the smaller block (a)
    tiny = disclosure_partition(pd.DataFrame({"g": list("abc")}), ["g"], 5)
    assert (tiny.block < 0).all()  # fewer than 5 in all: withheld from everything


def test_floor_applies_to_every_request(monkeypatch):
    monkeypatch.setenv("COPROD_MIN_N_FLOOR", "10")
    assert effective_min_n(1) == 10 and effective_min_n(12) == 12 and effective_min_n(None) == 10
    monkeypatch.setenv("COPROD_MIN_N_FLOOR", "1")
    assert min_n_floor() == 1  # taken as it is, never silently changed
    for bad in ("0", "five", "-3"):
        monkeypatch.setenv("COPROD_MIN_N_FLOOR", bad)
        with pytest.raises(InputError, match="COPROD_MIN_N_FLOOR"):
            min_n_floor()


def test_floor_applies_to_the_readiness_command(monkeypatch, capsys):
    import json as _json

    from analysis.cli import main
    from conftest import ROOT
    monkeypatch.setenv("COPROD_MIN_N_FLOOR", "10")
    assert main(["readiness", str(ROOT / "sample_data" / "public_servants.csv"), "--min-n", "1", "--json"]) == 0
    out = _json.loads(capsys.readouterr().out)
    assert out["min_n"] == 10
    assert all(g["n"] is None or g["n"] >= 10 for g in out["groups"])
    monkeypatch.setenv("COPROD_MIN_N_FLOOR", "ten")
    assert main(["readiness", str(ROOT / "sample_data" / "public_servants.csv"), "--json"]) == 2
    assert "COPROD_MIN_N_FLOOR" in capsys.readouterr().err
