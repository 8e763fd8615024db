"""Views of a pipeline run: its DAG as plain data (what the CLI's table and ``--json``, the HTML page and the web
UI all draw), and a self-contained HTML page with the DAG as an inline SVG."""

from __future__ import annotations

import html
from typing import Any

from conveyor.store.pipelines import PipelineRun, StepRecord

__all__ = ["dag_svg", "dag_view", "render_page"]

COLOURS = {"succeeded": "#2e7d32", "failed": "#c62828", "running": "#1565c0", "pending": "#9e9e9e",
           "skipped": "#9e9e9e"}


def dag_view(run: PipelineRun, steps: list[StepRecord]) -> dict[str, Any]:
    """The run and its DAG: ``nodes`` (one per step: status, cached, duration, attempts, cache key, error, inputs,
    outputs, ``level`` = its depth in the graph) and ``edges`` (``{"from", "to", "via"}``)."""
    records = {s.step: s for s in steps}
    declared = run.dag.get("steps", [])
    level: dict[str, int] = {}
    for spec in declared:  # the recorded order is topological
        level[spec["name"]] = 1 + max((level.get(up, 0) for up in spec.get("after", [])), default=-1)
    nodes, edges = [], []
    for spec in declared:
        record = records.get(spec["name"])
        nodes.append({"step": spec["name"], "status": record.status if record else "pending",
                      "cached": bool(record and record.cached), "duration": record.duration if record else None,
                      "attempts": record.attempts if record else 0, "cache_key": record.cache_key if record else "",
                      "error": record.error if record else None, "level": level[spec["name"]],
                      "inputs": spec.get("inputs", {}), "outputs": record.outputs if record else {}})
        for key, ref in spec.get("inputs", {}).items():
            source = ref.split(".", 1)[0]
            if source in spec.get("after", []):
                edges.append({"from": source, "to": spec["name"], "via": key})
    cached = sum(n["cached"] for n in nodes)
    return {"run": run.id, "pipeline": run.pipeline, "status": run.status, "trigger": run.trigger,
            "started_at": run.started_at, "ended_at": run.ended_at, "error": run.error,
            "duration": None if run.ended_at is None else run.ended_at - run.started_at,
            "cache_hits": cached, "steps": len(nodes), "nodes": nodes, "edges": edges}


def dag_svg(view: dict[str, Any]) -> str:
    """The DAG of :func:`dag_view` as one inline SVG: a box per step (coloured by status, dashed when cached) and
    an arrow per edge; every text is escaped."""
    width, height, gap_x, gap_y = 180, 54, 60, 24
    columns: dict[int, list[dict[str, Any]]] = {}
    for node in view["nodes"]:
        columns.setdefault(node["level"], []).append(node)
    place: dict[str, tuple[int, int]] = {}
    for lvl, nodes in columns.items():
        for row, node in enumerate(nodes):
            place[node["step"]] = (20 + lvl * (width + gap_x), 20 + row * (height + gap_y))
    total_w = 40 + len(columns) * (width + gap_x)
    total_h = 40 + max((len(n) for n in columns.values()), default=1) * (height + gap_y)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" role="img" '
             f'aria-label="DAG of pipeline run {html.escape(view["run"])}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
             'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    for edge in view["edges"]:
        (x1, y1), (x2, y2) = place[edge["from"]], place[edge["to"]]
        parts.append(f'<line class="edge" data-from="{html.escape(edge["from"])}" data-to="{html.escape(edge["to"])}" '
                     f'x1="{x1 + width}" y1="{y1 + height // 2}" x2="{x2}" y2="{y2 + height // 2}" stroke="#555" '
                     'marker-end="url(#arrow)"/>')
    for node in view["nodes"]:
        x, y = place[node["step"]]
        colour = COLOURS.get(node["status"], "#9e9e9e")
        dashes = ' stroke-dasharray="6 3"' if node["cached"] else ""
        detail = node["status"] + (" (cached)" if node["cached"] else "")
        if node["duration"] is not None:
            detail += f" {node['duration']:.2f}s"
        parts.append(f'<g class="step" data-step="{html.escape(node["step"])}" data-status="{node["status"]}" '
                     f'data-cached="{str(node["cached"]).lower()}"><rect x="{x}" y="{y}" width="{width}" '
                     f'height="{height}" rx="6" fill="white" stroke="{colour}" stroke-width="3"'
                     f'{dashes}/>'
                     f'<text x="{x + 10}" y="{y + 22}" font-weight="bold">{html.escape(node["step"])}</text>'
                     f'<text x="{x + 10}" y="{y + 42}" fill="{colour}" font-size="12">{html.escape(detail)}</text>'
                     '</g>')
    parts.append("</svg>")
    return "".join(parts)


def render_page(view: dict[str, Any]) -> str:
    """One HTML page (no external files): the run's summary, the DAG as inline SVG, and a table of the steps."""
    esc = html.escape
    rows = "".join(
        f'<tr data-step="{esc(n["step"])}"><td>{esc(n["step"])}</td><td>{esc(n["status"])}</td>'
        f'<td>{"yes" if n["cached"] else "no"}</td>'
        f'<td>{"-" if n["duration"] is None else format(n["duration"], ".3f") + " s"}</td><td>{n["attempts"]}</td>'
        f'<td><code>{esc(n["cache_key"][:12])}</code></td><td>{esc(n["error"] or "")}</td></tr>'
        for n in view["nodes"])
    title = f"Pipeline {view['pipeline']} run {view['run'][:12]}"
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}'
            'td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>'
            f'<h1>{esc(title)}</h1><p id="summary">status <b>{esc(view["status"])}</b>, trigger '
            f'{esc(view["trigger"])}, {view["cache_hits"]} of {view["steps"]} steps from the cache'
            f'{"" if not view["error"] else ", " + esc(view["error"])}</p>'
            f'<figure>{dag_svg(view)}</figure><table id="steps"><thead><tr><th>step</th><th>status</th><th>cached</th>'
            f'<th>duration</th><th>attempts</th><th>cache key</th><th>error</th></tr></thead><tbody>{rows}</tbody>'
            '</table></body></html>')
