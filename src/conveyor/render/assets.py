"""The static files every page uses (package data): the stylesheet, the chart glue and the vendored uPlot (MIT,
from npm; its LICENSE sits beside it)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"
STYLES = ("vendor/uplot/uPlot.min.css", "conveyor.css")
SCRIPTS = ("vendor/uplot/uPlot.iife.min.js", "conveyor-charts.js")
_UPLOT_BANNER = "/*! https://github.com/leeoniya/uPlot (v1.6.32) */"


def static_dir() -> Path:
    """The folder to serve at the UI's static URL."""
    return STATIC


@cache
def asset_text(name: str) -> str:
    """A static file's text, for inlining into a self-contained page. uPlot's banner names its home page by URL; an
    offline page carries no URL, so the banner is rewritten to name the project and its licence instead."""
    text = (STATIC / name).read_text(encoding="utf-8")
    if text.startswith(_UPLOT_BANNER):
        text = "/*! uPlot v1.6.32 (c) 2022 Leon Sorokin, MIT License */" + text[len(_UPLOT_BANNER):]
    return text.replace("</script", "<\\/script").replace("</style", "<\\/style")
