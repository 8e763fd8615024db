"""Open an HTML file in headless Chromium (Debian's ``chromium``; scripts/test.sh installs it), take a screenshot,
read the page's DOM back after its scripts ran, and collect what the page wrote to its console.

A report test asserts the page's *own* content rendered (``shot.title``, ``shot.headings``, ``shot.text``), not
only that a PNG exists: an error page (a wrong path, a crashed renderer) also makes a PNG. So :func:`screenshot`
refuses anything that is not an existing file, and a page whose DOM came back empty is an error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

_CONSOLE = re.compile(r":CONSOLE[^\]]*\]\s*(.*)")
_HEADINGS = ("h1", "h2", "h3", "h4")


class _Reader(HTMLParser):
    """The title, headings and visible text of a DOM (script and style bodies and SVG tooltips left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.headings: list[str] = []
        self.text: list[str] = []
        self._open: list[str] = []
        self._titles = 0  # the document's <title> is the first; later ones are SVG tooltips

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "script", "style", *_HEADINGS):
            self._open.append(tag)
            self._titles += tag == "title"
            if tag in _HEADINGS:
                self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        inside = set(self._open)
        if "title" in inside:
            if self._titles == 1:
                self.title += data
        elif not inside & {"script", "style"}:
            self.text.append(data)
            if inside & set(_HEADINGS):
                self.headings[-1] += data


@dataclass(frozen=True)
class PageShot:
    png: Path
    console: list[str]  # every console message and uncaught error, in order
    dom: str = ""  # the document as Chromium serialised it after the page's scripts ran
    title: str = ""
    headings: list[str] = field(default_factory=list)  # h1-h4 texts in document order, whitespace collapsed
    text: str = ""  # the visible text, whitespace collapsed


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("Chromium is not installed: run scripts/test.sh (it apt-installs chromium) or "
                       "`apt-get install chromium`.")


def _squash(text: str) -> str:
    return " ".join(text.split())


def read_dom(dom: str) -> tuple[str, list[str], str]:
    """(title, headings, visible text) of a serialised DOM."""
    reader = _Reader()
    reader.feed(dom)
    reader.close()
    return _squash(reader.title), [_squash(h) for h in reader.headings], _squash(" ".join(reader.text))


def screenshot(html: Path, png: Path, *, width: int = 1280, height: int = 2400, timeout: float = 90) -> PageShot:
    """Render the HTML file ``html`` offline (network disabled), write a PNG and read the DOM back.

    Raises FileNotFoundError unless ``html`` is an existing file (HTML *text* passed by mistake included), and
    RuntimeError if Chromium fails, writes no image or returns no document."""
    if not isinstance(html, (str, Path)) or "\n" in str(html) or "<" in str(html) or not Path(html).is_file():
        shown = str(html)[:80]
        raise FileNotFoundError(f"screenshot() opens an existing HTML file; {shown!r} is not one "
                                "(write the page to a file and pass its path).")
    html, png = Path(html).resolve(), Path(png).resolve()
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="conveyor-chromium-") as profile:
        done = subprocess.run(
            [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             # no network: a report must work offline, so anything it fetches fails visibly in the console
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
             f"--window-size={width},{height}", f"--screenshot={png}", "--dump-dom", html.as_uri()],
            capture_output=True, text=True, timeout=timeout, check=False)
    dom = done.stdout
    if done.returncode != 0 or not png.exists() or png.stat().st_size == 0 or "<html" not in dom.lower():
        raise RuntimeError(f"Chromium could not render {html}: exit {done.returncode}\n{done.stderr[-2000:]}")
    console = [m.group(1) for line in done.stderr.splitlines() if (m := _CONSOLE.search(line))]
    title, headings, text = read_dom(dom)
    return PageShot(png=png, console=console, dom=dom, title=title, headings=headings, text=text)
