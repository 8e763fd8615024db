"""The one Jinja2 environment: autoescaped, strict about undefined names, with the filters every page uses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from conveyor.render.assets import SCRIPTS, STYLES, asset_text

TEMPLATES = Path(__file__).parent / "templates"


def number(value: Any, digits: int = 4) -> str:
    """Floats to ``digits`` significant digits, None to "-", anything else as text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def when(value: float | None) -> str:
    """A Unix time as UTC 'YYYY-MM-DD HH:MM:SS'."""
    if value is None:
        return "-"
    return dt.datetime.fromtimestamp(float(value), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def shortref(value: str | None) -> str:
    """"NAME@VERSION" with the version cut to 12 characters, as `conveyor` prints it; None to "-"."""
    if not value:
        return "-"
    name, _, version = value.partition("@")
    return f"{name}@{version[:12]}" if version else name


def shade(value: float, top: float) -> str:
    """A blue background for a heat-map cell (value out of top), as a CSS colour."""
    level = int(245 - 180 * (value / top if top else 0.0))
    return f"rgb({level},{level},255)"


@cache
def _environment(extra: tuple[str, ...]) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader([*extra, str(TEMPLATES)])]
    # the templates ship with the package: compiled once, never stat()ed again on a render (auto_reload off)
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True, auto_reload=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=number, when=when, shade=shade, shortref=shortref)
    env.globals.update(inline_styles=lambda: Markup("".join(asset_text(n) for n in STYLES)),
                       inline_scripts=lambda: Markup("\n".join(asset_text(n) for n in SCRIPTS)),
                       STYLES=STYLES, SCRIPTS=SCRIPTS)
    return env


def environment(extra: Sequence[str | Path] = ()) -> jinja2.Environment:
    """The environment; ``extra`` folders are searched for templates before the shared ones (the UI adds its
    pages this way and extends the same base template)."""
    return _environment(tuple(str(p) for p in extra))


def render_page(template: str, *, inline: bool = True, static_url: str = "", **context: Any) -> str:
    """Render ``template`` (a shared one, e.g. "report/run.html"): ``inline`` puts the stylesheet and scripts into
    the page (a file that works offline), else they are linked under ``static_url``."""
    return environment().get_template(template).render(inline=inline, static_url=static_url, **context)
