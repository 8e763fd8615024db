"""`import conveyor` exposes exactly the documented API, lazily."""

from __future__ import annotations

import subprocess
import sys

import conveyor

DOCUMENTED = {"BadInputError", "CheckFailedError", "ConflictError", "ConveyorError", "IntegrityError",
              "MissingDependencyError", "NotFoundError", "Project", "StoreError", "__version__", "serving_app"}


def test_public_surface_is_what_it_claims():
    assert set(conveyor.__all__) == DOCUMENTED
    for name in conveyor.__all__:
        assert getattr(conveyor, name) is not None
    assert issubclass(conveyor.NotFoundError, conveyor.ConveyorError)


def test_importing_conveyor_loads_no_heavy_library():
    heavy = "('pandas', 'sklearn', 'typer', 'sqlalchemy')"
    code = f"import sys, conveyor; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
