"""End to end (issue 9): a researcher's own SPSS file, described on the Data page by clicking.

The file (made here with pyreadstat) has its own names: ``person`` (id), ``GRP`` (company) and a
three-item leadership scale with one reverse-keyed item. The researcher switches the Data page to
"my own questionnaire", uploads it, keeps the guessed id and group columns, adds the scale by
picking its items, ticks the reverse item, gives the range and uses the definition. The
Measurement page then shows the scale's alpha, equal to the library's on the same rows, and the
agreement (rwg(j), ICC) by ``GRP``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.aggregation import aggregate
from analysis.reliability import reliability
from e2e import screenshot, wait_for_app


@pytest.fixture(scope="module")
def climate(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    import pyreadstat

    rng = np.random.default_rng(7)
    n = 240
    grp = rng.integers(1, 13, n)
    u = rng.normal(0, 0.6, 13)[grp]
    data = pd.DataFrame({"person": np.arange(n) + 1000, "GRP": grp, "HRS": rng.integers(40, 70, n)})
    for k in (1, 2, 3):
        data[f"lead_{k}"] = np.clip(np.round(3 + u + rng.normal(0, 0.8, n)), 1, 5)
    data["lead_3"] = 6 - data["lead_3"]
    path = tmp_path_factory.mktemp("own") / "climate.sav"
    pyreadstat.write_sav(data, str(path), column_labels={"lead_1": "My leader listens to me"})
    return path, data


def _pick(page, label: str, options: list[str]) -> None:
    """Choose ``options`` in the multiselect labelled ``label``: type each, pick it from the list."""
    box = page.locator('[data-testid="stMultiSelect"]', has_text=label).first
    for option in options:
        field = box.locator("input")
        field.click()
        field.fill(option)
        page.get_by_role("option", name=option, exact=True).wait_for()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        wait_for_app(page)
        assert option in box.inner_text()
    page.keyboard.press("Escape")


def _upload_own(page, dashboard, path: Path) -> None:
    """Open the Data page, switch to an own questionnaire and upload ``path``."""
    page.goto(f"{dashboard}/data")
    wait_for_app(page)
    page.get_by_text("My own questionnaire").click()
    wait_for_app(page)
    page.get_by_role("region", name="Upload a survey file").get_by_test_id("stFileUploaderDropzoneInput") \
        .set_input_files(str(path))
    page.locator('[data-testid="stAlertContentSuccess"]', has_text=path.name).first.wait_for(timeout=60_000)
    wait_for_app(page)


def test_own_spss_survey_defined_by_clicking_reaches_measurement(page, dashboard, climate):
    path, data = climate
    _upload_own(page, dashboard, path)
    body = page.inner_text("body")
    assert "Your survey: column roles and scales" in body
    # the guesses: person is the id, GRP the group
    assert page.locator('[data-testid="stSelectbox"]', has_text="Respondent id column") \
        .locator('input[role="combobox"]').input_value() == "person"
    assert "GRP" in page.locator('[data-testid="stMultiSelect"]', has_text="Grouping columns").inner_text()
    page.get_by_role("textbox", name="Survey name").fill("soldiers")
    page.get_by_role("textbox", name="Survey name").press("Enter")
    wait_for_app(page)
    page.get_by_role("textbox", name="Scale name").fill("LEAD")
    page.get_by_role("textbox", name="Scale name").press("Enter")
    wait_for_app(page)
    _pick(page, "Items", ["lead_1", "lead_2", "lead_3"])
    _pick(page, "Reverse-keyed items", ["lead_3"])
    for label, value in (("Lowest answer", "1"), ("Highest answer", "5")):
        page.get_by_label(label).fill(value)
        page.get_by_label(label).press("Enter")
        wait_for_app(page)
    page.get_by_role("button", name="Add scale").click()
    wait_for_app(page)
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    page.get_by_text("Remove a scale").wait_for()  # the scale table (a canvas grid) is there
    assert "No scale yet" not in page.inner_text("body")
    page.get_by_role("button", name="Use this definition").click()
    page.get_by_text("now uses your definition").first.wait_for()
    wait_for_app(page)
    screenshot(page, "own_survey_defined")
    assert page.locator('[data-testid="stException"]').count() == 0

    _go(page, "Scales: reliability")
    page.get_by_text("Agreement", exact=False).first.wait_for()
    body = _clean_body(page)
    expected = reliability(data, ["lead_1", "lead_2", "lead_3"], reverse=["lead_3"], scale_min=1, scale_max=5)
    alpha = page.locator('[data-testid="stMetric"]', has_text=re.compile("alpha", re.I)).first
    shown = alpha.locator('[data-testid="stMetricValue"]').inner_text().strip()
    assert float(shown.lstrip("0") if shown.startswith("0.") else shown) == pytest.approx(expected.alpha, abs=5e-4)
    picked = [b.input_value() for b in page.locator('input[role="combobox"]').all()]
    assert "LEAD" in picked, picked
    screenshot(page, "own_survey_measurement")
    page.get_by_role("tab", name="Aggregation").click()
    wait_for_app(page)
    body = page.inner_text("body")
    screenshot(page, "own_survey_aggregation")
    assert "GRP" in body
    scored = data.assign(lead_3=6 - data["lead_3"])
    agreement = aggregate(scored, "GRP", ["lead_1", "lead_2", "lead_3"], options=5)
    metrics = {m.locator('[data-testid="stMetricLabel"]').inner_text().strip():
               m.locator('[data-testid="stMetricValue"]').inner_text().strip()
               for m in page.locator('[data-testid="stMetric"]').all() if m.is_visible()}
    icc1 = next(v for k, v in metrics.items() if "ICC(1)" in k)
    assert float(icc1) == pytest.approx(agreement.icc1, abs=5e-3), metrics


@pytest.fixture(scope="module")
def inventory(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A Stata file of three three-item scales, answers 1-5, groups in ``unit``, hours in ``HRS``."""
    rng = np.random.default_rng(11)
    n, g = 300, 20
    unit = rng.integers(0, g, n)
    hours = rng.normal(50, 6, g)[unit] + rng.normal(0, 4, n)
    traits = rng.multivariate_normal([0, 0, 0], [[1, .3, .2], [.3, 1, .3], [.2, .3, 1]], n) \
        + rng.normal(0, 0.4, (g, 3))[unit]
    data = pd.DataFrame({"case_id": np.arange(n) + 1, "unit": unit + 1, "HRS": hours.round(1)})
    for s, name in enumerate(("lead", "coh", "wb")):
        for k in (1, 2, 3):
            data[f"{name}_{k}"] = np.clip(np.round(3 + traits[:, s] + rng.normal(0, 0.7, n)), 1, 5)
    data["lead_3"] = 6 - data["lead_3"]
    path = tmp_path_factory.mktemp("own_dta") / "inventory.dta"
    data.to_stata(path, write_index=False)
    return path, data


def _add_scale(page, name: str, items: list[str], reverse: list[str], *, top: str = "5") -> None:
    page.get_by_role("textbox", name="Scale name").fill(name)
    page.get_by_role("textbox", name="Scale name").press("Enter")
    wait_for_app(page)
    _pick(page, "Items", items)
    if reverse:
        _pick(page, "Reverse-keyed items", reverse)
    for label, value in (("Lowest answer", "1"), ("Highest answer", top)):
        page.get_by_label(label).fill(value)
        page.get_by_label(label).press("Enter")
        wait_for_app(page)
    page.get_by_role("button", name="Add scale").click()
    wait_for_app(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, \
        page.locator('[data-testid="stAlertContentError"]').first.inner_text()


def _go(page, menu: str) -> None:
    """Open a screen from the sidebar menu and wait for its numbers."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(menu).click()
    wait_for_app(page)


def _clean_body(page) -> str:
    """The page's text, after checking it shows no exception."""
    assert page.locator('[data-testid="stException"]').count() == 0
    return page.inner_text("body")


def _alpha(page) -> str:
    _go(page, "Scales: reliability")
    metric = page.locator('[data-testid="stMetric"]', has_text=re.compile("alpha", re.I)).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_own_stata_study_three_factors_model_and_round_trip(page, browser, dashboard, inventory, tmp_path):
    path, data = inventory
    _upload_own(page, dashboard, path)
    assert page.locator('[data-testid="stSelectbox"]', has_text="Respondent id column") \
        .locator('input[role="combobox"]').input_value() == "case_id"
    _pick(page, "Covariates", ["HRS"])
    _add_scale(page, "LEAD", ["lead_1", "lead_2", "lead_3"], ["lead_3"])
    _add_scale(page, "COH", ["coh_1", "coh_2", "coh_3"], [])
    _add_scale(page, "WB", ["wb_1", "wb_2", "wb_3"], [])
    page.get_by_role("button", name="Use this definition").click()
    page.get_by_text("3 scale(s), groups unit").first.wait_for()
    wait_for_app(page)

    # measurement: the first scale's alpha, and the model with one factor per scale
    alpha = _alpha(page)
    page.get_by_role("tab", name="Factor structure").click()
    wait_for_app(page)
    body = page.inner_text("body")
    assert "lavaan::cfa('LEAD =~ lead_1 + lead_2 + lead_3; COH =~ coh_1 + coh_2 + coh_3; WB =~ wb_1 + wb_2 + wb_3'" \
        in body
    assert "factor study.yaml --survey public_servant --scale LEAD COH WB" in body
    screenshot(page, "own_stata_cfa")

    # models: a random slope with a cross-level interaction, clustered by the own group column
    _go(page, "Multilevel models")
    box = page.get_by_role("textbox", name=re.compile("lme4 formula"))
    box.fill("WB ~ cwc_LEAD * c_gm_HRS + (1 + cwc_LEAD | unit)")
    box.press("Enter")
    wait_for_app(page)
    body = _clean_body(page)
    assert "mixed study.yaml --survey public_servant --formula 'WB ~ cwc_LEAD * c_gm_HRS + (1 + cwc_LEAD | unit)'" \
        in body
    assert "Fixed effects" in body
    screenshot(page, "own_stata_model")

    # the study file with its data, opened in a fresh session, gives the same numbers
    _go(page, "Load and check data")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download study file with its data (.zip)").click()
    bundle = tmp_path / "study.zip"
    download.value.save_as(bundle)
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    fresh.set_default_timeout(60_000)
    fresh.goto(f"{dashboard}/data")
    wait_for_app(fresh)
    fresh.get_by_role("region", name=re.compile("Open a study file")).get_by_test_id(
        "stFileUploaderDropzoneInput").set_input_files(str(bundle))
    fresh.get_by_text("Opened the study").first.wait_for(timeout=60_000)
    wait_for_app(fresh)
    assert _alpha(fresh) == alpha
    fresh.context.close()


@pytest.fixture(scope="module")
def qualtrics(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A Qualtrics CSV export (names, question texts and ImportId rows) with a ``dept`` column."""
    rng = np.random.default_rng(21)
    n = 180
    dept = rng.integers(1, 10, n)
    trust = rng.normal(0, 1, n) + rng.normal(0, 0.5, 10)[dept]
    data = pd.DataFrame({"ResponseId": [f"R_{k:05d}" for k in range(n)], "Finished": 1, "dept": dept})
    for k in (1, 2, 3, 4):
        data[f"Q1_{k}"] = np.clip(np.round(4 + trust + rng.normal(0, 0.8, n)), 1, 7)
    data["Q1_4"] = 8 - data["Q1_4"]
    texts = ["Response ID", "Finished", "Department"] + [f"Trust in the council - statement {k}" for k in (1, 2, 3, 4)]
    imports = ['{"ImportId":"_recordId"}', '{"ImportId":"finished"}', '{"ImportId":"QID9"}'] + \
        [f'{{"ImportId":"QID1_{k}"}}' for k in (1, 2, 3, 4)]
    head = pd.DataFrame([texts, imports], columns=data.columns)
    path = tmp_path_factory.mktemp("own_qualtrics") / "council_export.csv"
    pd.concat([head, data.astype(object)]).to_csv(path, index=False)
    return path, data


def test_own_qualtrics_export_defined_by_clicking(page, dashboard, qualtrics):
    path, data = qualtrics
    _upload_own(page, dashboard, path)
    assert page.locator('[data-testid="stSelectbox"]', has_text="Respondent id column") \
        .locator('input[role="combobox"]').input_value() == "ResponseId"
    assert "dept" in page.locator('[data-testid="stMultiSelect"]', has_text="Grouping columns").inner_text()
    _add_scale(page, "TRUST", ["Q1_1", "Q1_2", "Q1_3", "Q1_4"], ["Q1_4"], top="7")
    page.get_by_role("button", name="Use this definition").click()
    page.get_by_text("1 scale(s), groups dept").first.wait_for()
    wait_for_app(page)
    expected = reliability(data, ["Q1_1", "Q1_2", "Q1_3", "Q1_4"], reverse=["Q1_4"], scale_min=1, scale_max=7)
    shown = _alpha(page)
    assert float(shown) == pytest.approx(expected.alpha, abs=5e-4)
    # the question texts Qualtrics gave are the items' wording on the Measurement page
    # (the answer-distribution chart labels each item with its text; plotly draws it as SVG text)
    labels = page.locator(".js-plotly-plot text", has_text="Trust in the council - statement")
    labels.first.wait_for(timeout=30_000)  # plotly draws after the script run ends
    assert labels.count() >= 4
