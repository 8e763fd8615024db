"""One look for every page Conveyor draws: the HTML reports (`report`, `monitor`, `data diff --html`) and the web UI
(`conveyor.server.ui`) render through one Jinja2 environment (autoescaped), one base template, one stylesheet and one
way to draw a chart (:mod:`conveyor.render.charts`, drawn in the browser by the vendored uPlot).

    from conveyor.render import render_page, charts
    page = render_page("my.html", title="...", chart=charts.line("ROC", {"model": points}))

A self-contained page (a report file) inlines the stylesheet and the scripts (``inline=True``, the default of
:func:`render_page`); a served page links them under ``static_url`` (:func:`static_dir` is the folder to serve).
"""

from conveyor.render import charts
from conveyor.render.assets import asset_text, static_dir
from conveyor.render.charts import Chart
from conveyor.render.environment import environment, render_page

__all__ = ["Chart", "asset_text", "charts", "environment", "render_page", "static_dir"]
