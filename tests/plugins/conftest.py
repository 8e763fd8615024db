"""The plug-in distribution in plugin_dist/, built and installed once per session, as a user's pip would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN_DIST = Path(__file__).with_name("plugin_dist")


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory) -> Path:
    """A fresh folder holding conveyor-test-plugin, installed by pip from a wheel setuptools builds (offline, no
    build isolation); put it on PYTHONPATH to have the plug-in, leave it off to be without. Nothing is installed
    into the environment running the tests."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "source"
    shutil.copytree(PLUGIN_DIST, source)  # the build writes build/ and *.egg-info beside its sources
    site = work / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--no-deps", "--no-build-isolation", "--no-index", "--target", str(site), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip could not install the plug-in:\n{done.stdout}\n{done.stderr}"
    assert list(site.glob("conveyor_test_plugin-0.1.0.dist-info/entry_points.txt")), "no entry points installed"
    return site
