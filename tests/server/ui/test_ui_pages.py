"""The web UI in headless Chromium against a real uvicorn on 127.0.0.1: every page opens with no console errors and
draws its charts; a click-through from the overview to a model, its run and its dataset version; the runs table
sorts, filters and compares; an alert is acknowledged and a version promoted through CSRF-protected forms. Each test
reads the page's own content back (headings, table cells, the points the charts drew)."""

from __future__ import annotations

import html
import json
import re

import httpx
import pytest
from selenium.webdriver.common.by import By

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_page(browser, site, path: str, shot: str | None = None):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(site.url + path)
    return settle(browser, site, shot)


def settle(browser, site, shot: str | None = None):
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
    if shot:
        browser.save_screenshot(str(site.artifacts / f"{shot}.png"))
    return browser


def heading(browser) -> str:
    return browser.find_element(By.TAG_NAME, "h1").text


def cells(browser, table_id: str) -> list[list[str]]:
    rows = browser.find_elements(By.CSS_SELECTOR, f"table#{table_id} tr")[1:]
    return [[c.text for c in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def drawn(browser) -> dict[str, dict]:
    """Every chart on the page: its title, the points the page says it drew, and uPlot's own data (from the DOM)."""
    figures = browser.find_elements(By.CSS_SELECTOR, "figure.cv-chart")
    found = {}
    for figure in figures:
        title = figure.find_element(By.TAG_NAME, "figcaption").text
        data = browser.execute_script("return arguments[0].cvChart ? arguments[0].cvChart.data : null;", figure)
        canvas = figure.find_elements(By.TAG_NAME, "canvas")
        found[title] = {"drawn": int(figure.get_attribute("data-drawn") or 0), "data": data,
                        "spec": json.loads(figure.get_attribute("data-spec")),
                        "canvas": bool(canvas) and canvas[0].size["width"] > 100}
    return found


PAGES = {
    "overview": ("/", "Overview"),
    "datasets": ("/datasets", "Datasets"),
    "dataset": ("/datasets/patients", "Dataset patients"),
    "runs": ("/runs", "Runs"),
    "models": ("/models", "Models"),
    "model": ("/models/patients", "Model patients"),
    "model-version": ("/models/patients/1", "Model patients:1"),
    "monitoring": ("/monitoring/patients:1", "Monitoring patients:1"),
    "alerts": ("/alerts", "Alerts"),
    "audit": ("/audit", "Audit trail"),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_opens_without_console_errors_and_draws_its_charts(browser, site, name):
    path, title = PAGES[name]
    open_page(browser, site, path, shot=name)
    assert heading(browser) == title
    assert browser.title.startswith(title) and browser.title.endswith("clinic · Conveyor")
    for chart, seen in drawn(browser).items():
        assert seen["canvas"] and seen["drawn"] > 0, chart
        assert len(seen["data"]) >= 2 and len(seen["data"][0]) == len(seen["spec"]["x"]), chart


def test_click_through_from_the_overview_to_the_model_its_run_and_its_dataset_version(browser, site):
    open_page(browser, site, "/")
    row = cells(browser, "models")[0]
    assert row[0] == "patients" and row[1] == f"{site.model} (champion)" and row[5] != "0"  # the drift alert
    browser.find_element(By.LINK_TEXT, f"{site.model}").click()
    settle(browser, site, "click-model")
    assert heading(browser) == f"Model {site.model}"
    assert "@champion" in browser.find_element(By.CSS_SELECTOR, "p.sub").text
    browser.find_element(By.ID, "model-run").click()
    settle(browser, site, "click-run")
    assert heading(browser).startswith("Run train-patients")
    assert [h.text for h in browser.find_elements(By.TAG_NAME, "h2")][:2] == ["Metrics", "Parameters"]
    charts = drawn(browser)
    roc = charts["ROC curve"]
    evaluation = site.project.runs.evaluation(site.model)
    points = next(iter(evaluation["curves"]["roc"].values()))
    assert roc["drawn"] == len(points) and roc["data"][0] == [p[0] for p in points]  # every step of the curve
    assert roc["data"][1] == [p[1] for p in points]
    browser.find_element(By.ID, "run-dataset").click()
    settle(browser, site, "click-dataset")
    assert heading(browser) == f"Dataset {site.dataset}"
    profile = {row[0]: row for row in cells(browser, "profile")}
    assert profile["mean_radius"][2] == "numeric" and profile["clinic"][2] == "categorical"
    assert "model patients:1" in browser.find_element(By.ID, "lineage").text


def test_the_runs_table_sorts_and_filters(browser, site):
    open_page(browser, site, "/runs?q=sweep")
    assert browser.find_element(By.ID, "run-count").text.startswith("5 shown of 5 matching")
    browser.find_element(By.CSS_SELECTOR, "a.sort[data-column='metric:score']").click()
    settle(browser, site)
    names = [row[1] for row in cells(browser, "runs")]
    assert names == ["sweep-4", "sweep-3", "sweep-2", "sweep-1", "sweep-0"]  # best first
    browser.find_element(By.CSS_SELECTOR, "a.sort[data-column='metric:score']").click()
    settle(browser, site, "runs-sorted")
    assert [row[1] for row in cells(browser, "runs")] == ["sweep-0", "sweep-1", "sweep-2", "sweep-3", "sweep-4"]
    search = browser.find_element(By.NAME, "q")
    search.clear()
    search.send_keys("depth=3")
    browser.find_element(By.CSS_SELECTOR, "#run-filter button").click()
    settle(browser, site, "runs-filtered")
    assert [row[1] for row in cells(browser, "runs")] == ["sweep-3"]


def test_runs_compare_side_by_side_with_a_chart(browser, site):
    open_page(browser, site, "/runs?q=sweep&sort=name&order=asc")
    boxes = browser.find_elements(By.CSS_SELECTOR, "table#runs input[type=checkbox]")
    boxes[0].click()
    boxes[4].click()
    browser.find_element(By.CSS_SELECTOR, "#compare-form button").click()
    settle(browser, site, "compare")
    assert heading(browser) == "Compare runs"
    score = browser.find_element(By.CSS_SELECTOR, "tr[data-metric='score']").text
    assert score.split() == ["score", "0.5", "0.9"]
    chart = drawn(browser)["Metrics side by side"]
    at = chart["spec"]["categories"].index("score")
    assert [series[at] for series in chart["data"][1:]] == [0.5, 0.9]


def test_the_monitoring_page_draws_drift_per_column_over_time(browser, site):
    open_page(browser, site, f"/monitoring/{site.model}", shot="monitoring-detail")
    charts = drawn(browser)
    per_column = charts["Drift score per column over time"]
    names = [s["name"] for s in per_column["spec"]["series"]]
    assert "mean_radius" in names and "clinic" in names
    assert len(per_column["data"][0]) == 2  # two checks, two points in time
    radius = per_column["data"][1 + names.index("mean_radius")]
    assert all(v is not None and v > 0 for v in radius)
    latest = {row[0]: float(row[1]) for row in cells(browser, "latest-drift")}
    assert latest["drift.mean_radius"] == pytest.approx(radius[-1], rel=1e-3)
    band = [t for t in charts if t.endswith("with its confidence interval")]
    assert band, list(charts)  # live accuracy from the labels in the current data, with its interval
    _, mid, low, high = charts[band[0]]["data"]
    banded = [(lo, m, hi) for m, lo, hi in zip(mid, low, high, strict=True) if lo is not None]
    assert len(banded) == 3 and all(lo <= m <= hi for lo, m, hi in banded)
    assert [m for _, m, _ in banded] == [0.9, 0.88, 0.8]


def test_a_form_without_the_csrf_token_is_refused(site):
    alert = site.project.monitoring.alerts(status="open")[0]
    answer = httpx.post(f"{site.url}/alerts/{alert.id}/ack", data={"csrf": "forged"},
                        cookies={"conveyor_csrf": "x" * 40})
    assert answer.status_code == 403 and "CSRF" in answer.text
    assert httpx.post(f"{site.url}/alerts/{alert.id}/ack", data={}).status_code == 403
    assert site.project.monitoring.alerts(status="open")[0].id == alert.id  # still open


def test_an_alert_is_acknowledged_from_the_alerts_page(browser, site):
    open_page(browser, site, "/alerts?status=open")
    table = browser.find_element(By.CSS_SELECTOR, "table.alerts")
    first = table.find_elements(By.TAG_NAME, "tr")[1]
    alert_id = first.find_elements(By.TAG_NAME, "td")[0].text
    assert first.find_elements(By.TAG_NAME, "td")[1].text == "drift"
    cookie = browser.get_cookie("conveyor_csrf")
    assert cookie["sameSite"] == "Strict" and cookie["httpOnly"]
    first.find_element(By.TAG_NAME, "button").click()
    settle(browser, site, "alert-acked")
    assert browser.find_element(By.ID, "flash").text == f"acknowledged {alert_id}"
    row = browser.find_element(By.ID, f"alert-{alert_id}").text
    assert "acked" in row
    assert next(a for a in site.project.monitoring.alerts() if a.id.startswith(alert_id)).status == "acked"


def test_a_version_is_promoted_through_the_form(browser, site):
    open_page(browser, site, "/models/patients")
    alias = browser.find_element(By.NAME, "alias")
    alias.clear()
    alias.send_keys("staging-ui")
    browser.find_element(By.CSS_SELECTOR, "#promote-form button").click()
    settle(browser, site, "promoted")
    assert browser.find_element(By.ID, "flash").text == "staging-ui now points at version 1"
    assert ["@staging-ui", "patients:1"] in cells(browser, "aliases")
    assert site.project.models.aliases("patients")["staging-ui"] == 1
    assert "@staging-ui" in [row[1] for row in cells(browser, "alias-history")]


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/models/nosuchmodel", 404, "nosuchmodel"),
    ("/runs/ffffffffffff", 404, "Unknown run"),
    ("/datasets/patients/ffffffffffff", 404, "ffffffffffff"),
    ("/runs?sort=colour", 422, "Cannot sort runs by 'colour'"),
])
def test_unknown_ids_and_bad_input_answer_an_error_page_not_a_traceback(site, path, status, says):
    answer = httpx.get(site.url + path)
    assert answer.status_code == status and says in html.unescape(answer.text)
    assert "Traceback" not in answer.text and re.search(r"<h1>[^<]+</h1>", answer.text)


def test_a_dataset_diff_opens_from_the_versions_table(browser, site):
    open_page(browser, site, "/datasets/patients")
    versions = cells(browser, "versions")
    assert len(versions) == 2 and versions[1][0] == site.dataset  # newest first: the shifted version on top
    browser.find_element(By.LINK_TEXT, "diff").click()
    settle(browser, site, "dataset-diff")
    assert heading(browser) == f"{site.dataset} \u2192 {versions[0][0]}"
    charts = drawn(browser)
    radius = charts["mean_radius (drifted)"]
    assert radius["spec"]["kind"] == "bars" and [s["name"] for s in radius["spec"]["series"]] == [
        site.dataset, versions[0][0]]
    assert all(seen["drawn"] > 0 and seen["canvas"] for seen in charts.values())
