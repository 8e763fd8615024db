"""conveyor.render: the chart helpers keep every point (a ROC curve's vertical steps included), refuse ragged bars,
and a page escapes whatever text the data brings (column names, category labels, titles)."""

from __future__ import annotations

import html
import json
import re

import pytest

from conveyor.render import asset_text, charts, environment, render_page


def test_a_curve_keeps_points_that_share_an_x():
    roc = charts.line("ROC", {"model": [(0, 0), (0, 0.5), (0, 0.8), (0.5, 1), (1, 1)]}, diagonal=True)
    assert roc.x == [0, 0, 0, 0.5, 1] and roc.series[0]["values"] == [0, 0.5, 0.8, 1, 1] and roc.points == 5
    both = charts.line("two", {"a": [(0, 1), (1, 2)], "b": [(1, 5), (2, 6)]})
    assert both.x == [0, 1, 2] and [s["values"] for s in both.series] == [[1, 2, None], [None, 5, 6]]


def test_bars_refuse_a_series_that_does_not_fit_its_categories():
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        charts.bars("b", ["x", "y", "z"], {"ref": [1, 2]})


def test_non_finite_values_become_gaps():
    chart = charts.line("t", {"s": [(0, float("nan")), (1, float("inf")), (2, 3.0)]})
    assert chart.series[0]["values"] == [None, None, 3.0] and chart.points == 1


def test_text_from_the_data_is_escaped_in_the_page_and_in_the_chart_spec():
    evil = "<img src=x onerror=alert(1)>"
    chart = charts.bars(evil, [evil, "ok"], {evil: [1.0, 2.0]})
    page = environment().from_string('{% from "macros.html" import chart %}<h1>{{ t }}</h1>{{ chart(c) }}').render(
        t=evil, c=chart)
    assert "<img" not in page
    spec = re.search(r'data-spec="([^"]*)"', page).group(1)
    assert json.loads(html.unescape(spec))["categories"] == [evil, "ok"]  # the browser reads the text back intact


def test_a_self_contained_page_inlines_its_assets_and_names_no_url():
    page = render_page("base.html", title="t")
    assert "uPlot" in page and "cv-chart" in page and "http://" not in page and "https://" not in page
    assert "MIT License" in asset_text("vendor/uplot/uPlot.iife.min.js")[:80]
    linked = render_page("base.html", title="t", inline=False, static_url="/static")
    assert '<script src="/static/vendor/uplot/uPlot.iife.min.js">' in linked and "uPlot=" not in linked
