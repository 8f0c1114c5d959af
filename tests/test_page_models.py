"""The Models page in AppTest: the default model renders with its tables, readings and plots;
its numbers are the ``mixed`` command's numbers on the same model data; the builder, the
centring helper, reference levels, ML, links with query parameters and the comparison work;
bad input gives an error box, never an exception."""
from __future__ import annotations

import io
import json
import shlex
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest

from screen_tables import numbers
from numpy.testing import assert_allclose
from streamlit.testing.v1 import AppTest

from analysis import cli
from conftest import ROOT
from ui.state import Source, sample_source

PAGE = str(ROOT / "pages" / "models.py")
DEFAULT_FORMULA = ("dc_engagement ~ c_digital_skills + c_gm_readiness_index + "
                   "c_gm_readiness_index:c_digital_skills + (1 | org_id)")


def _run(query: dict | None = None, sources: dict | None = None) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=300)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    if sources is not None:
        app.session_state["study_sources"] = sources
    app.run()
    return app


def _table(app, column: str) -> pd.DataFrame:
    """The page's table that has ``column`` (tables are told apart by their columns)."""
    found = [d.value for d in app.dataframe if column in d.value.columns]
    assert found, f"no table with a '{column}' column"
    return found[0]


def _errors(app) -> list[str]:
    return [e.value for e in app.error]


def _command_json(survey: str, args: list[str], tmp_path) -> dict:
    """Run the headless command exactly as the page prints it (on the raw sample file)."""
    assert args[0] == f"sample_data/{sample_source(survey).filename}" and args[1:3] == ["--instrument", survey]
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["mixed", str(ROOT / args[0]), *args[1:], "--json"]) == 0
    return json.loads(out.getvalue())


def _command_args(app) -> list[str]:
    """The arguments of the command shown in the page's caption, DATA first."""
    line = next(c.value for c in app.code if c.value.startswith("python -m analysis mixed"))
    parts = shlex.split(line)
    return parts[4:-1]  # after "python -m analysis mixed", before "--json"


@pytest.fixture(scope="module")
def default_view():
    return _run()


def test_default_view_fits_the_engagement_model(default_view):
    at = default_view
    assert not at.exception
    assert _errors(at) == []
    assert at.text_input(key="formula").value == DEFAULT_FORMULA
    labels = {m.label for m in at.metric}
    assert {"ICC (null model)", "Design effect", "logLik", "AIC", "BIC", "R² marginal", "R² conditional",
            "ICC (adjusted)"} <= labels
    fixed = _table(at, "df")
    assert fixed["term"].tolist() == ["(Intercept)", "c_digital_skills", "c_gm_readiness_index",
                                      "c_digital_skills:c_gm_readiness_index"]
    assert {"estimate", "se", "df", "t", "p", "ci_low", "ci_high"} <= set(fixed.columns)
    random = _table(at, "variance")
    assert random["group"].tolist() == ["org_id", "Residual"]
    readings = " ".join(i.value for i in at.info)
    icc = float(next(m.value for m in at.metric if m.label == "ICC (null model)"))
    assert f"ICC = {icc:.2f}".replace("0.", ".") in readings
    assert "lies between organisations" in readings and "design effect" in readings
    assert "Cross-level interaction" in readings and "conditional R²" in readings
    captions = " ".join(c.value for c in at.caption)
    assert "c_gm_readiness_index" in captions and "Bates" in captions and "Snijders" in captions


PLOTS = ("Coefficients", "Group effects", "Predicted lines per group", "Simple slopes", "Residuals vs fitted",
         "QQ plots")


def _on_plot(app, tab: str):
    """Choose a plot tab, as a click would (the tabs are lazy: only the chosen one is drawn)."""
    app.session_state["mdl_plot"] = tab
    app.run()
    assert not app.exception and _errors(app) == []
    return app


def test_every_plot_is_drawn_on_its_tab_only():
    at = _run()
    drawn = {}
    for tab in PLOTS:
        drawn[tab] = len(_on_plot(at, tab).get("plotly_chart"))
    assert all(n >= 1 for n in drawn.values()), drawn
    assert drawn["QQ plots"] == 2 and drawn["Coefficients"] == 1  # the other tabs are not drawn
    # the cross-level interaction gets its simple slopes
    slopes = _table(_on_plot(at, "Simple slopes"), "slope")
    assert slopes["at"].tolist() == ["mean - 1 SD", "mean", "mean + 1 SD"]
    assert np.all(np.diff(slopes["slope"]) > 0)  # readiness strengthens the skills slope


def test_page_numbers_equal_the_command(default_view, tmp_path):
    at = default_view
    args = _command_args(at)
    assert args == ["sample_data/public_servants.csv", "--instrument", "public_servant", "--formula", DEFAULT_FORMULA]
    command = _command_json("public_servant", args, tmp_path)
    fixed = _table(at, "df")
    expected = pd.DataFrame(command["fixed"])
    assert fixed["term"].tolist() == expected["term"].tolist()
    for column in ("estimate", "se", "df", "t", "p"):
        assert_allclose(fixed[column].to_numpy(dtype=float), expected[column].to_numpy(dtype=float), rtol=1e-9)
    assert_allclose(fixed["ci_low"], [c[0] for c in expected["ci"]], rtol=1e-9)
    fit = _table(at, "logLik").iloc[0]
    for page_key, json_key in [("logLik", "loglik"), ("AIC", "aic"), ("BIC", "bic"), ("R2_marginal", "r2_marginal"),
                               ("R2_conditional", "r2_conditional"), ("ICC_adjusted", "icc"),
                               ("residual_variance", "residual_variance")]:
        assert_allclose(fit[page_key], command[json_key], rtol=1e-9)
    assert fit["n_obs"] == command["n_obs"]
    random = _table(at, "variance")
    assert_allclose(random["variance"].iloc[0], command["random"][0]["variance"], rtol=1e-9)


def test_link_opens_a_logistic_model_with_odds_ratios(tmp_path):
    formula = "any_digital ~ c_age10 + gender + (1 | municipality_id)"
    at = _run({"survey": "citizen", "formula": formula, "family": "binomial"})
    assert not at.exception and _errors(at) == []
    assert at.text_input(key="formula").value == formula
    fixed = _table(at, "odds_ratio")
    assert {"or_ci_low", "or_ci_high", "z"} <= set(fixed.columns)
    age = fixed.set_index("term").loc["c_age10"]
    assert age["odds_ratio"] < 1 and age["or_ci_high"] < 1  # the digital divide by age
    args = _command_args(at)
    assert "--family" in args and "binomial" in args
    command = _command_json("citizen", args, tmp_path)
    assert_allclose(fixed["estimate"], [r["estimate"] for r in command["fixed"]], rtol=1e-9)
    assert_allclose(fixed["odds_ratio"], [r["odds_ratio"] for r in command["fixed"]], rtol=1e-9)
    assert "odds" in " ".join(i.value for i in at.info)


def test_linked_municipality_readiness_opens_and_equals_the_command():
    """Issue 6's linking model: servants' readiness per municipality as a level-2 predictor of
    citizens' digital co-production, opened in the Models screen and run headless with --servants."""
    formula = "any_digital ~ c_readiness_muni + c_age10 + (1 | municipality_id)"
    at = _run({"survey": "citizen", "formula": formula, "family": "binomial"})
    assert not at.exception and _errors(at) == []
    fixed = _table(at, "odds_ratio")
    assert "c_readiness_muni" in fixed["term"].tolist()
    line = next(c.value for c in at.code if c.value.startswith("python -m analysis mixed"))
    argv = shlex.split(line)[4:-1]
    assert argv[argv.index("--servants") + 1] == "sample_data/public_servants.csv"
    argv[0] = str(ROOT / argv[0])
    argv[argv.index("--servants") + 1] = str(ROOT / "sample_data" / "public_servants.csv")
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["mixed", *argv, "--json"]) == 0
    command = json.loads(out.getvalue())
    assert_allclose(fixed["estimate"], [r["estimate"] for r in command["fixed"]], rtol=1e-9)
    # municipalities whose readiness is withheld (small organisations) leave their citizens out
    assert command["n_obs"] < 4000


@pytest.mark.slow
def test_reference_level_and_ml_change_the_fit():
    at = _run({"survey": "citizen"})
    assert not at.exception and _errors(at) == []
    assert at.segmented_control(key="family").value == "binomial"
    assert "genderWoman" in _table(at, "odds_ratio")["term"].tolist()
    at.selectbox(key="mdl_ref_citizen_gender").set_value("Woman").run()
    assert not at.exception and _errors(at) == []
    assert "genderMan" in _table(at, "odds_ratio")["term"].tolist()
    assert "--reference gender=Woman" in next(c.value for c in at.code)
    at.segmented_control(key="survey").set_value("public_servant").run()
    at.checkbox(key="ml").check().run()
    assert not at.exception and _errors(at) == []
    assert at.segmented_control(key="family").value == "gaussian"
    assert _table(at, "logLik")["method"].iloc[0] == "ML"
    assert "--ml" in next(c.value for c in at.code)


@pytest.mark.slow
def test_builder_random_slope_cross_level_and_centring(default_view):
    at = _run()
    at.multiselect(key="mdl_slopes_public_servant").set_value(["c_digital_skills"]).run()
    assert not at.exception and _errors(at) == []
    formula = at.text_input(key="formula").value
    assert formula.endswith("(1 + c_digital_skills | org_id)")
    random = _table(at, "variance")
    assert random["term"].tolist() == ["(Intercept)", "c_digital_skills", ""]
    assert "corr" in {c for d in at.dataframe for c in d.value.columns}
    assert len(_table(_on_plot(at, "Simple slopes"), "slope")) == 3  # the cross-level interaction is still there
    # group-mean centring: a new cwc_ column, shown in the formula with a note
    at.selectbox(key="mdl_centre_var").set_value("age").run()
    at.selectbox(key="mdl_centre_kind").set_value("cwc_").run()
    at.button(key="mdl_centre_add").click().run()
    assert not at.exception and _errors(at) == []
    assert "cwc_age" in at.text_input(key="formula").value
    assert "cwc_age" in _table(at, "df")["term"].tolist()
    assert any("`cwc_age` = age minus its group mean per org_id" in c.value for c in at.caption)
    # the box wins when edited: a hand-written formula is fitted as typed
    at.text_input(key="formula").set_value("dc_engagement ~ digital_skills + (1 | org_id)").run()
    assert not at.exception and _errors(at) == []
    assert _table(at, "df")["term"].tolist() == ["(Intercept)", "digital_skills"]


def test_comparison_of_kept_models():
    at = _run()
    at.button(key="mdl_keep").click().run()
    at.button(key="mdl_keep_null").click().run()
    assert not at.exception and _errors(at) == []
    table = _table(at, "chisq")
    assert table["model"].tolist() == ["m2", "m1"]  # ordered by number of parameters
    assert table["method"].tolist() == ["ML", "ML"]  # refitted with ML, as anova() does
    assert numbers(table["df"]).iloc[1] == 3 and table["p"].iloc[1] == "< .001"  # APA: p < .001
    assert any("refitting model(s) with ml" in c.value.lower() for c in at.caption)
    at.button(key="mdl_clear").click().run()
    assert not any("chisq" in d.value.columns for d in at.dataframe)


@pytest.mark.parametrize("formula,message", [
    ("dc_engagement ~ (1 | ", "formula syntax error"),
    ("dc_engagement ~ no_such_column + (1 | org_id)", "no_such_column"),
    ("dc_engagement ~ digital_skills", "random part"),
    ("dc_engagement ~ gm_digital_skills", "grouping column"),
])
def test_bad_formula_shows_an_error_box(formula, message):
    at = _run({"formula": formula})
    assert not at.exception
    errors = _errors(at)
    assert len(errors) == 1 and message in errors[0]


def test_binomial_family_on_a_scale_score_is_an_error_box():
    at = _run({"family": "binomial"})
    assert not at.exception
    assert _errors(at) and "dc_engagement" in " ".join(_errors(at))


def test_grouping_column_with_one_level_is_an_error_box():
    raw = pd.read_csv(ROOT / "sample_data" / "public_servants.csv")
    raw["org_id"] = 101
    source = Source("public_servant", "one_org.csv", raw.to_csv(index=False).encode())
    at = _run({"formula": "dc_engagement ~ digital_skills + (1 | org_id)"},
              sources={"public_servant": source, "citizen": sample_source("citizen")})
    assert not at.exception
    assert _errors(at) and "org_id" in _errors(at)[0]


def test_browser_random_slope_with_cross_level_interaction(page, dashboard):
    """In a real browser: add a random slope with the builder to the default model (which has
    the cross-level interaction) and see its tables and plots without an error element."""
    from e2e import screenshot, wait_for_app

    page.goto(f"{dashboard}/models")
    wait_for_app(page)
    slopes = page.locator('[data-testid="stMultiSelect"]', has_text="Random slopes")
    slopes.locator("input").click()
    page.get_by_role("option", name="c_digital_skills").click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    formula = page.get_by_label("lme4 formula", exact=False).input_value()
    assert "(1 + c_digital_skills | org_id)" in formula
    assert "c_gm_readiness_index:c_digital_skills" in formula
    assert page.locator('[data-testid="stException"]').count() == 0
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()
    body = page.inner_text("body")
    assert "Cross-level interaction" in body and "Correlations of the random effects" in body
    assert page.locator('[data-testid="stDataFrame"]').count() >= 4  # fit, fixed, random, correlations
    page.get_by_role("tab", name="Simple slopes").click()
    wait_for_app(page)  # the tabs are lazy: the click runs the page for that plot
    visible_chart = page.locator('[data-testid="stPlotlyChart"] >> visible=true')
    visible_chart.first.wait_for()
    assert "Simple slopes of c_digital_skills" in visible_chart.first.inner_text()
    visible_chart.first.scroll_into_view_if_needed()
    screenshot(page, "models_random_slope")
    for tab in ("Coefficients", "Group effects", "Predicted lines per group", "Residuals vs fitted", "QQ plots"):
        page.get_by_role("tab", name=tab).click()
        wait_for_app(page)
        visible_chart.first.wait_for()
        visible_chart.first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        screenshot(page, "models_" + tab.lower().replace(" ", "_"))
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def test_data_without_the_default_outcome_asks_for_a_choice():
    raw = pd.read_csv(ROOT / "sample_data" / "public_servants.csv")
    raw = raw.drop(columns=[c for c in raw.columns if c.startswith("ps_eng")])
    source = Source("public_servant", "no_engagement.csv", raw.to_csv(index=False).encode())
    at = _run(sources={"public_servant": source, "citizen": sample_source("citizen")})
    assert not at.exception and _errors(at) == []
    assert any("Pick an outcome" in i.value for i in at.info)
    at.selectbox(key="mdl_outcome_public_servant").set_value("perceived_usefulness").run()
    assert not at.exception and _errors(at) == []
    assert at.text_input(key="formula").value.startswith("perceived_usefulness ~ c_digital_skills")
    assert "c_gm_readiness_index" in _table(at, "df")["term"].tolist()


def test_singular_fit_is_explained_not_an_error():
    # compassion does not differ between organisations in the simulated population: tau00 = 0
    at = _run({"formula": "psm_compassion ~ 1 + (1 | org_id)"})
    assert not at.exception and _errors(at) == []
    warnings = " ".join(w.value for w in at.warning)
    assert "Singular fit" in warnings and "groups of org_id do not differ in psm_compassion" in warnings
    assert any("Organisations hardly differ: ICC = .00" in i.value for i in at.info)


def test_save_model_with_a_saved_study(tmp_path, monkeypatch):
    from store import Store

    monkeypatch.setenv("COPROD_DB", str(tmp_path / "store.sqlite3"))
    monkeypatch.delenv("COPROD_DB_URL", raising=False)
    source = sample_source("public_servant")
    ref = Store().save_study("test study", "title: test study\nsurveys:\n  - {name: public_servant, "
                             f"file: {source.filename}, instrument: public_servant}}\n",
                             {source.filename: source.content})
    at = _run()
    at.text_input(key="mdl_save_name").set_value("engagement").run()
    at.button(key="mdl_save").click().run()
    assert not at.exception and _errors(at) == []
    assert any("Saved (model" in s.value for s in at.success)
    saved = Store().list_models(ref.slug)
    assert [m.formula for m in saved] == [DEFAULT_FORMULA]
    assert saved[0].options["survey"] == "public_servant"
    fixed = _table(at, "df")
    assert_allclose([r["estimate"] for r in saved[0].result["fixed"]], fixed["estimate"], rtol=1e-12)


def test_group_effects_leave_out_groups_under_the_threshold():
    """Organisations of 2 or 3 respondents get no conditional mode on screen (issue 11)."""
    import json as _json

    import pandas as _pd

    from analysis.privacy import published_group_effects
    at = _on_plot(_run(), "Group effects")
    charts = [_json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    cat = next(c for c in charts if "deviations from the average" in str(c["layout"].get("title", "")))
    shown = {str(v) for v in cat["data"][0]["y"]}
    sizes = _pd.read_csv(ROOT / "sample_data" / "public_servants.csv")["org_id"].value_counts()
    small = {str(g) for g in sizes[sizes < 5].index}
    assert small and not small & shown
    assert len(shown) >= 40
    effects = _pd.DataFrame({"level": ["a", "b"], "estimate": [0.1, 0.2], "n": [3, 9]})
    assert published_group_effects(effects, 5)["level"].tolist() == ["b"]
