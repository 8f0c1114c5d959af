"""The Measurement page in AppTest: it renders on the sample, its numbers are the headless
commands' numbers, the sample's traps show, and bad input gives an error box, never an exception."""
from __future__ import annotations

import io
import json
import shlex
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from analysis import cli
from conftest import ROOT
from ui.state import Source, sample_source

PAGE = str(ROOT / "pages" / "measurement.py")
STRATEGY = ["ps_rdy_strat1", "ps_rdy_strat2", "ps_rdy_strat3"]


def _command(*argv: str) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(list(argv)) == 0
    return json.loads(out.getvalue())


def _metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


# A table by a column only it has (AppTest does not expose a dataframe's key).
TABLES = {"m_item_table": "alpha_if_deleted", "m_kmo_table": "msa", "m_cfa_table": "std_loading",
          "m_groups_table": "band", "m_inv_table": "chi2_diff"}


def _df(app, key: str) -> pd.DataFrame:
    return next(d.value for d in app.dataframe if TABLES[key] in d.value.columns)


def _errors(app) -> list[str]:
    return [e.value for e in app.error]


TABS = ("Reliability", "Factor structure", "Aggregation")


def _on_tab(app, tab: str):
    """Choose a tab, as a click would (the tabs are lazy: only the chosen one runs)."""
    app.session_state["m_tab"] = tab
    app.run()
    return app


@pytest.fixture(scope="module")
def views():
    """The default view, one run per tab."""
    return {tab: _on_tab(AppTest.from_file(PAGE, default_timeout=300), tab) for tab in TABS}


@pytest.fixture(scope="module")
def default_view(views):
    return views["Reliability"]


def test_default_view_renders_every_block(views):
    for at in views.values():
        assert not at.exception
        assert _errors(at) == []
    labels = {m.label for at in views.values() for m in at.metric}
    assert {"Cronbach's alpha", "Omega total", "KMO (overall MSA)", "CFI", "RMSEA", "ICC(1)", "ICC(2)",
            "Mean rwg(j)"} <= labels
    readings = " ".join(i.value for at in views.values() for i in at.info)
    assert "alpha = .79 [.77, .81]" in readings and "omega total = .79" in readings
    assert "Parallel analysis" in readings and "ICC(1) =" in readings
    commands = [c.value for c in views["Reliability"].code]
    expected = ("python -m analysis reliability sample_data/public_servants.csv --instrument public_servant --items "
                + " ".join(STRATEGY))
    assert any(c.startswith(expected) for c in commands)
    # every table has its downloads
    assert sum(len(at.get("download_button")) for at in views.values()) >= 2 * 5


def test_only_the_chosen_tab_is_computed(views):
    """At a national survey's scale each tab costs seconds: a tab not chosen shows nothing."""
    assert "KMO (overall MSA)" not in {m.label for m in views["Reliability"].metric}
    assert "Cronbach's alpha" not in {m.label for m in views["Aggregation"].metric}
    assert "ICC(1)" not in {m.label for m in views["Factor structure"].metric}


def test_reliability_equals_command(default_view):
    at = default_view
    cmd = _command("reliability", str(ROOT / "sample_data" / "public_servants.csv"), "--items", *STRATEGY,
                   "--scale-min", "1", "--scale-max", "5", "--missing", "pairwise", "--json")
    assert _metric(at, "Cronbach's alpha") == f"{cmd['alpha']:.3f}".replace("0.", ".", 1)
    assert _metric(at, "Omega total") == f"{cmd['omega_total']:.3f}".replace("0.", ".", 1)
    table = _df(at, "m_item_table")
    expected = pd.DataFrame(cmd["items"])
    assert list(table["item"]) == list(expected["item"])
    for col in ("mean", "sd", "r_drop", "alpha_if_deleted"):
        assert_allclose(table[col].to_numpy(float), expected[col].to_numpy(float), atol=1e-12)


def test_aggregation_equals_command_and_hides_small_groups(views):
    at = views["Aggregation"]
    cmd = _command("aggregate", str(ROOT / "sample_data" / "public_servants.csv"), "--instrument", "public_servant",
                   "--group", "org_id", "--items", *STRATEGY, "--options", "5", "--json")
    assert _metric(at, "ICC(1)") == f"{cmd['icc1']:.3f}".replace("0.", ".", 1)
    assert _metric(at, "ICC(2)") == f"{cmd['icc2']:.3f}".replace("0.", ".", 1)
    groups = _df(at, "m_groups_table")
    expected = pd.DataFrame(cmd["groups"])
    # the command leaves out, as the page does, the organisations under 5 respondents and the
    # block each is pooled with (analysis.privacy)
    sizes = pd.read_csv(ROOT / "sample_data" / "public_servants.csv")["org_id"].value_counts()
    assert not set(sizes[sizes < 5].index) & set(expected["group"])
    assert list(groups["group"]) == list(expected["group"]) and groups["n"].min() >= 5
    expected = expected.set_index("group")
    assert_allclose(groups["rwg"].to_numpy(float), expected.loc[groups["group"], "rwg"].to_numpy(float), atol=1e-12)
    assert_allclose(groups["mean"].to_numpy(float), expected.loc[groups["group"], "mean"].to_numpy(float), atol=1e-12)
    hidden = int(sizes.size - len(groups))
    assert hidden >= 4
    assert any("left out of this table" in c.value and c.value.startswith(f"{hidden} ") for c in at.caption)


def test_factor_structure_equals_command(views):
    at = views["Factor structure"]
    cmd = _command("factor", str(ROOT / "sample_data" / "public_servants.csv"), "--items", *STRATEGY,
                   "--scale-min", "1", "--scale-max", "5", "--missing", "pairwise", "--json")
    assert _metric(at, "KMO (overall MSA)") == f"{cmd['kmo']:.3f}".replace("0.", ".", 1)
    kmo_table = _df(at, "m_kmo_table").set_index("item")["msa"]
    assert_allclose(kmo_table[STRATEGY].to_numpy(float), [cmd["kmo_items"][i] for i in STRATEGY], atol=1e-12)
    cfa = _df(at, "m_cfa_table").set_index("item")["std_loading"]
    assert_allclose(cfa[STRATEGY].to_numpy(float), [cmd["cfa"]["loadings"][i] for i in STRATEGY], atol=1e-9)
    assert any("python -m analysis factor sample_data/public_servants.csv" in c.value for c in at.code)


def test_unmarked_reverse_item_is_flagged():
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    at.selectbox(key="m_scale_public_servant").set_value("digital_skills").run()
    assert not at.exception
    rev = at.multiselect(key="m_rev_public_servant_digital_skills")
    assert rev.value == ["ps_dsk4"]
    keyed_alpha = float("0" + _metric(at, "Cronbach's alpha"))
    rev.set_value([]).run()
    assert not at.exception
    assert any("ps_dsk4 correlates negatively" in w.value for w in at.warning)
    assert float("0" + _metric(at, "Cronbach's alpha")) < keyed_alpha


def test_options_rerender_and_straight_liners_change_n():
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    n_all = int(_df(at, "m_item_table")["n"].max())
    at.segmented_control(key="m_missing").set_value("listwise").run()
    assert not at.exception and "listwise deletion" in " ".join(i.value for i in at.info)
    _on_tab(at, "Factor structure")
    at.selectbox(key="m_rot").set_value("varimax").run()
    at.selectbox(key="m_fm").set_value("ml").run()
    assert not at.exception and _errors(at) == []
    _on_tab(at, "Reliability")
    at.checkbox(key="m_drop_sl").check().run()
    assert not at.exception
    assert int(_df(at, "m_item_table")["n"].max()) < n_all
    at.checkbox(key="m_boot").check().run()
    assert not at.exception and "bootstrap" in " ".join(i.value for i in at.info)


def test_citizen_survey_and_municipalities():
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    at.segmented_control(key="m_survey").set_value("citizen").run()
    _on_tab(at, "Aggregation")
    assert not at.exception
    assert _errors(at) == []
    assert "municipality" in at.segmented_control(key="m_level_citizen").options


def test_invariance_by_gender():
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    at.selectbox(key="m_scale_public_servant").set_value("coproduction_attitude").run()
    _on_tab(at, "Factor structure")
    at.selectbox(key="m_inv_public_servant").set_value("gender").run()
    assert not at.exception and _errors(at) == []
    steps = _df(at, "m_inv_table")
    assert list(steps["step"]) == ["configural", "metric", "scalar"]
    assert steps["df"].is_monotonic_increasing
    assert "Woman n =" in " ".join(i.value for i in at.info)


@pytest.fixture
def odd_columns_app():
    """The sample with a constant column and a text column added."""
    df = pd.read_csv(ROOT / "sample_data" / "public_servants.csv").head(400)
    df["const_col"] = 3
    df["text_col"] = np.where(np.arange(len(df)) % 2, "often", "never")
    source = Source("public_servant", "odd.csv", df.to_csv(index=False).encode())
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["study_sources"] = {"public_servant": source, "citizen": sample_source("citizen")}
    at.run()
    assert not at.exception
    at.selectbox(key="m_scale_public_servant").set_value("__custom__").run()
    return at


def _custom(at, columns):
    at.multiselect(key="m_cols_public_servant").set_value(columns).run()
    assert not at.exception
    return " ".join(_errors(at))


def test_custom_scale_with_one_item_shows_error(odd_columns_app):
    assert "at least two items" in _custom(odd_columns_app, ["ps_dsk1"])


def test_custom_scale_with_constant_item_shows_error(odd_columns_app):
    text = _custom(odd_columns_app, ["ps_dsk1", "ps_dsk2", "const_col"])
    assert "same answer" in text and "const_col" in text
    assert len(_errors(odd_columns_app)) == 1  # one message for the scale, not one per block


def test_custom_scale_with_text_column_shows_error(odd_columns_app):
    text = _custom(odd_columns_app, ["ps_dsk1", "ps_dsk2", "text_col"])
    assert "text_col" in text and "non-numeric" in text
    assert len(_errors(odd_columns_app)) == 1


def test_custom_scale_of_instrument_items_works(odd_columns_app):
    at = odd_columns_app
    assert _custom(at, ["ps_dsk1", "ps_dsk2", "ps_dsk3", "ps_dsk4"]) == ""
    reverse = next(m for m in at.multiselect if m.key.startswith("m_rev_public_servant___custom__"))
    assert reverse.value == ["ps_dsk4"]
    assert _metric(_on_tab(at, "Aggregation"), "Response options A") == "5"


def test_surveys_compared_when_they_share_the_item_ids():
    """A shared construct asked with the same item ids in both surveys can be tested for invariance
    across the two surveys; the bundled sample words them differently, so there it is not offered."""
    citizens = pd.read_csv(ROOT / "sample_data" / "citizens.csv").head(1200)
    dsk = ["ps_dsk1", "ps_dsk2", "ps_dsk3", "ps_dsk4"]
    for src, dst in zip(["ct_dsk1", "ct_dsk2", "ct_dsk3", "ct_dsk4"], dsk):
        citizens[dst] = citizens[src]
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["study_sources"] = {
        "public_servant": sample_source("public_servant"),
        "citizen": Source("citizen", "citizens_same_ids.csv", citizens.to_csv(index=False).encode())}
    at.run()
    at.selectbox(key="m_scale_public_servant").set_value("digital_skills").run()
    _on_tab(at, "Factor structure")
    choice = at.selectbox(key="m_inv_public_servant")
    assert any(o.startswith("Survey: Public servants vs Citizens") for o in choice.options)
    choice.set_value("__survey__").run()
    assert not at.exception and _errors(at) == []
    steps = _df(at, "m_inv_table")
    assert list(steps["step"]) == ["configural", "metric", "scalar"]
    assert "Public servants n =" in " ".join(i.value for i in at.info)


def test_sample_surveys_are_not_compared_item_by_item():
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    at.selectbox(key="m_scale_public_servant").set_value("digital_skills").run()
    _on_tab(at, "Factor structure")
    assert not any("Survey:" in o for o in at.selectbox(key="m_inv_public_servant").options)
    assert any("differently worded items" in c.value for c in at.caption)


def _shown_command(app, name: str) -> dict:
    """Run the command exactly as the page prints it (from the project folder) and parse its JSON."""
    text = next(c.value for c in app.code if c.value.startswith(f"python -m analysis {name} "))
    argv = shlex.split(text)[3:]
    argv[1] = str(ROOT / argv[1])  # DATA, relative to the project folder
    return _command(*argv)


def test_printed_command_gives_the_page_numbers_even_with_missing_codes():
    """ps_rdy_fin2 holds -99 codes: the printed command (with --instrument) must clean them as
    the page does, so the alpha it prints is the alpha on screen."""
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    at.selectbox(key="m_scale_public_servant").set_value("rdy_finance").run()
    assert not at.exception
    assert not any("Apply the same choices" in c.value for c in at.caption)
    cmd = _shown_command(at, "reliability")
    assert _metric(at, "Cronbach's alpha") == f"{cmd['alpha']:.3f}".replace("0.", ".", 1)
    assert cmd["alpha"] > 0.6  # the -99 codes were not averaged as answers
    _on_tab(at, "Aggregation")
    agg = _shown_command(at, "aggregate")
    assert _metric(at, "ICC(1)") == f"{agg['icc1']:.3f}".replace("0.", ".", 1)
