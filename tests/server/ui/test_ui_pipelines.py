"""The pipelines page and a run's DAG page in headless Chromium against a real uvicorn on 127.0.0.1: the page lists
each pipeline with its steps and triggers and its runs with their cache hits; a run's page draws the DAG (a box
per step, an arrow per edge) with each step's status and cache hit, read back from the page itself."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

import conveyor as cv

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NIGHTLY = '''\
from conveyor.pipeline import Pipeline

nightly = Pipeline("nightly", schedule="0 2 * * *")


@nightly.step(inputs={"n": "value:4"}, outputs={"numbers": "value"})
def make(n):
    return list(range(n))


@nightly.step(inputs={"numbers": "make.numbers"}, outputs={"total": "value"})
def total(numbers):
    return sum(numbers)


@nightly.step(inputs={"numbers": "make.numbers"}, outputs={"count": "value"})
def count(numbers):
    return len(numbers)


@nightly.step(inputs={"total": "total.total", "count": "count.count"}, outputs={"mean": "value"})
def mean(total, count):
    return total / count


broken = Pipeline("broken", on=["webhook"])


@broken.step(inputs={"n": "value:1"}, outputs={"x": "value"})
def first(n):
    raise ValueError("the source is down")


@broken.step(inputs={"x": "first.x"}, outputs={"y": "value"})
def second(x):
    return x
'''


def cells(browser, table_id: str) -> dict[str, list[str]]:
    rows = browser.find_elements(By.CSS_SELECTOR, f"table#{table_id} tr")[1:]
    out = {}
    for row in rows:
        texts = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        out[texts[0]] = texts[1:]
    return out


def steps_drawn(browser) -> dict[str, tuple[str, str, str]]:
    """Each box of the DAG: (status, cached, the text drawn in it)."""
    boxes = browser.find_elements(By.CSS_SELECTOR, "figure#dag svg g.step")
    return {b.get_attribute("data-step"): (b.get_attribute("data-status"), b.get_attribute("data-cached"),
                                           " ".join(t.text for t in b.find_elements(By.TAG_NAME, "text")))
            for b in boxes}


def test_the_pipelines_page_and_a_runs_dag(browser, site, serve, tmp_path):
    with cv.Project.init(tmp_path / "p", name="flows") as project:
        (project.root / "pipelines").mkdir()
        (project.root / "pipelines" / "nightly.py").write_text(NIGHTLY)
        first = project.pipelines.run("nightly")
        second = project.pipelines.run("nightly")  # everything from the cache
        failed = project.pipelines.run("broken")
        assert (first.status, second.status, failed.status) == ("succeeded", "succeeded", "failed")
        with serve(project) as url:
            browser.get(f"{url}/pipelines")
            assert browser.find_element(By.TAG_NAME, "h1").text == "Pipelines"
            declared = cells(browser, "pipelines")
            assert declared["nightly"] == ["make, total, count, mean", "schedule: 0 2 * * *", "succeeded"]
            assert declared["broken"] == ["first, second", "webhook", "failed"]
            assert "retrain" in declared
            runs = cells(browser, "pipeline-runs")
            assert runs[second.id[:12]][:3] == ["nightly", "succeeded", "manual"]
            assert runs[second.id[:12]][-1] == "4 of 4" and runs[first.id[:12]][-1] == "0 of 4"
            assert runs[failed.id[:12]][1] == "failed"
            assert browser.find_element(By.ID, "pipeline-run-count").text.startswith("3 runs")
            browser.save_screenshot(str(site.artifacts / "pipelines.png"))

            browser.find_element(By.LINK_TEXT, second.id[:12]).click()
            assert browser.find_element(By.TAG_NAME, "h1").text == f"Pipeline run {second.id[:12]}"
            assert "4 of 4 steps from the cache" in browser.find_element(By.ID, "summary").text
            drawn = steps_drawn(browser)
            assert set(drawn) == {"make", "total", "count", "mean"}
            assert all(status == "succeeded" and cached == "true" for status, cached, _ in drawn.values())
            assert drawn["mean"][2].startswith("mean succeeded (cached)")
            edges = {(e.get_attribute("data-from"), e.get_attribute("data-to"))
                     for e in browser.find_elements(By.CSS_SELECTOR, "figure#dag svg line.edge")}
            assert edges == {("make", "total"), ("make", "count"), ("total", "mean"), ("count", "mean")}
            table = cells(browser, "steps")
            assert table["mean"][:2] == ["succeeded", "yes"] and table["mean"][4] == "total, count"

            browser.get(f"{url}/pipelines/runs/{first.id}")
            assert {k: v[:2] for k, v in steps_drawn(browser).items()} == {
                k: ("succeeded", "false") for k in ("make", "total", "count", "mean")}

            browser.get(f"{url}/pipelines?pipeline=broken")
            assert list(cells(browser, "pipeline-runs")) == [failed.id[:12]]
            browser.find_element(By.LINK_TEXT, failed.id[:12]).click()
            drawn = steps_drawn(browser)
            assert drawn["first"][0] == "failed" and drawn["second"][0] == "pending"
            assert "the source is down" in cells(browser, "steps")["first"][-1]
            browser.save_screenshot(str(site.artifacts / "pipeline-run.png"))

            browser.get(f"{url}/pipelines/runs/nope")
            assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"
