"""The runs page stays bounded as runs pile up: with many runs it shows one page of them, and the SQL it runs does
not grow with the number of runs (the time it takes goes in the server benchmark, not in a timed test)."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

import conveyor as cv
from conveyor.core.entities import Metric, Run

pytestmark = pytest.mark.slow


def add_runs(project, count: int, start: int) -> None:
    for i in range(start, start + count):
        run = Run(id=f"{i:032x}", name=f"bulk-{i}", status="finished", started_at=1_700_000_000 + i,
                  ended_at=1_700_000_001 + i, dataset="bulk@0")
        project.stores.runs.create(run)
        project.stores.runs.log_metrics(run.id, [Metric("score", i / 10_000)])


def statements(project, url: str, path: str) -> tuple[int, str]:
    seen: list[str] = []
    engine = project.stores.runs.db.engine

    def count(conn, cursor, statement, *args):
        if "identit" not in statement.lower():  # the cached "is authentication on?" query comes and goes by the clock
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        answer = httpx.get(url + path, timeout=60)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200
    return len(seen), answer.text


def test_the_runs_page_shows_one_page_and_its_queries_do_not_grow_with_the_runs(tmp_path, serve):
    with cv.Project.init(tmp_path) as project, serve(project) as url:
        add_runs(project, 300, 0)
        few, _ = statements(project, url, "/runs")
        few_sorted, _ = statements(project, url, "/runs?sort=metric:score")
        add_runs(project, 9_700, 300)  # 10,000 runs
        many, page = statements(project, url, "/runs")
        many_sorted, sorted_page = statements(project, url, "/runs?sort=metric:score")
        assert many == few and many_sorted == few_sorted  # one page of runs, whatever the total
        assert page.count('<tr data-run="') == 100
        assert re.findall(r'<a href="/runs/[0-9a-f]+">(bulk-\d+)</a>', page)[:2] == ["bulk-9999", "bulk-9998"]
        assert re.findall(r'<a href="/runs/[0-9a-f]+">(bulk-\d+)</a>', sorted_page)[0] == "bulk-9999"
