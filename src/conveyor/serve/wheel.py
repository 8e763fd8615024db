"""A wheel of the running conveyor, for build contexts: Conveyor is not on a public index, so an image installs it
from the wheel beside its Dockerfile (``pip install --no-index --find-links``).

From a source checkout (``pyproject.toml`` next to ``src/conveyor``) the wheel is built once per process from a copy
of the sources (the checkout is left untouched); otherwise ``CONVEYOR_WHEEL`` or ``--wheel`` names a wheel file.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from conveyor._version import __version__
from conveyor.core.dependencies import DISTRIBUTION
from conveyor.core.errors import BadInputError, first_line

WHEEL_PREFIX = DISTRIBUTION.replace("-", "_") + "-"


def source_root() -> Path | None:
    """The checkout this conveyor runs from, or None when it was installed from a wheel."""
    root = Path(__file__).resolve().parents[3]  # <root>/src/conveyor/serve/wheel.py
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and f'name = "{DISTRIBUTION}"' in pyproject.read_text():
        return root
    return None


def check_wheel(path: Path, field: str = "--wheel") -> Path:
    path = Path(path)
    if not path.is_file() or not path.name.startswith(f"{WHEEL_PREFIX}{__version__}-") or path.suffix != ".whl":
        raise BadInputError(f"{path} is not a wheel of {DISTRIBUTION} {__version__}.", field=field,
                            hint=f"Give {WHEEL_PREFIX}{__version__}-py3-none-any.whl (pip wheel --no-deps on the "
                                 "conveyor sources), the version this command runs.")
    return path


@functools.lru_cache(maxsize=1)
def _built_wheel(root: Path) -> Path:
    out = Path(tempfile.mkdtemp(prefix="conveyor-wheel-"))
    work = out / "src-copy"
    shutil.copytree(root / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            shutil.copy2(root / name, work / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--quiet", "--wheel-dir", str(out), str(work)], capture_output=True, text=True,
                          timeout=600)
    shutil.rmtree(work, ignore_errors=True)
    found = sorted(out.glob(f"{WHEEL_PREFIX}{__version__}-*.whl"))
    if done.returncode != 0 or not found:
        raise BadInputError(f"Could not build a wheel of {DISTRIBUTION} from {root}: "
                            f"{first_line(done.stderr or done.stdout or 'no wheel written')}", field="--wheel",
                            hint="Build one with `pip wheel --no-deps .` and pass it with --wheel.")
    return found[0]


def conveyor_wheel(wheel: Path | None = None) -> Path:
    """The wheel to ship: ``wheel``, else ``CONVEYOR_WHEEL``, else one built from this checkout."""
    if wheel is not None:
        return check_wheel(wheel)
    if os.environ.get("CONVEYOR_WHEEL"):
        return check_wheel(Path(os.environ["CONVEYOR_WHEEL"]), "CONVEYOR_WHEEL")
    root = source_root()
    if root is None:
        raise BadInputError(f"This {DISTRIBUTION} was installed from a wheel, and deploy docker needs that wheel "
                            "for the image.", field="--wheel",
                            hint="Pass it with --wheel PATH (or set CONVEYOR_WHEEL).")
    return _built_wheel(root)
