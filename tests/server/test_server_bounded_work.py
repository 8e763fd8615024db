"""Lists do bounded work: the SQL statements of one page do not grow with the number of rows stored."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from conveyor.project import Project


def _statements(project: Project, url: str, path: str, params: dict) -> int:
    engine = project.stores.runs.db.engine
    count = 0

    def counted(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        nonlocal count
        # "is authentication on?" is cached for a few seconds (server/auth.py), so whether a request asks it
        # depends on the clock, not on the page: those statements are not the page's work
        count += "identit" not in statement.lower()

    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        answer = httpx.get(url + path, params=params, timeout=30)
        assert answer.status_code == 200, answer.text
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    return count


def test_a_page_of_runs_costs_the_same_queries_with_ten_times_the_runs(project: Project, server: str,
                                                                      add_runs) -> None:
    params = {"limit": 5, "order_by": "score"}
    before = _statements(project, server, "/api/v1/runs", params)
    add_runs(project, 120, start=1000)
    after = _statements(project, server, "/api/v1/runs", params)
    assert before == after
    page = httpx.get(server + "/api/v1/runs", params=params, timeout=30).json()
    assert len(page["items"]) == 5 and page["next"] is not None


def _params_rows_read(project: Project, url: str, params: dict) -> int:
    """How many runs a request read the params of (the run ids bound in its run_params queries)."""
    engine = project.stores.runs.db.engine
    bound = 0

    def seen(_conn, _cursor, statement: str, parameters, *_args: object) -> None:
        nonlocal bound
        if "FROM run_params" in statement:
            bound += len(parameters) if isinstance(parameters, (list, tuple, dict)) else 0

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        answer = httpx.get(url + "/api/v1/runs", params=params, timeout=30)
        assert answer.status_code == 200, answer.text
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return bound


def test_a_deep_page_of_runs_reads_no_more_rows_than_the_first(project: Project, server: str, add_runs) -> None:
    add_runs(project, 60, start=2000)
    first = httpx.get(server + "/api/v1/runs", params={"limit": 5}, timeout=30).json()
    cursor = first["next"]
    for _ in range(8):  # walk to a page 45 runs deep
        cursor = httpx.get(server + "/api/v1/runs", params={"limit": 5, "cursor": cursor}, timeout=30).json()["next"]
    assert _params_rows_read(project, server, {"limit": 5, "cursor": cursor}) \
        == _params_rows_read(project, server, {"limit": 5}) == 6  # the page and one to know there is a next
