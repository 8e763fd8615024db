"""Open an HTML file in headless Chromium (Debian's ``chromium``; scripts/test.sh installs it), take a screenshot and
collect what the page wrote to its console, so report tests can check that a page renders and raises no errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_CONSOLE = re.compile(r":CONSOLE[^\]]*\]\s*(.*)")


@dataclass(frozen=True)
class PageShot:
    png: Path
    console: list[str]  # every console message and uncaught error, in order


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("Chromium is not installed: run scripts/test.sh (it apt-installs chromium) or "
                       "`apt-get install chromium`.")


def screenshot(html: Path, png: Path, *, width: int = 1280, height: int = 2400, timeout: float = 90) -> PageShot:
    """Render ``html`` offline (network disabled) and write a PNG; raise if Chromium fails or writes no image."""
    html, png = Path(html).resolve(), Path(png).resolve()
    with tempfile.TemporaryDirectory(prefix="conveyor-chromium-") as profile:
        done = subprocess.run(
            [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             # no network: a report must work offline, so anything it fetches fails visibly in the console
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
             f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri()],
            capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not png.exists() or png.stat().st_size == 0:
        raise RuntimeError(f"Chromium could not render {html}: exit {done.returncode}\n{done.stderr[-2000:]}")
    console = [m.group(1) for line in done.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return PageShot(png=png, console=console)
