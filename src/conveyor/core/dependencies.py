"""Optional packages: ``require(module, extra)`` imports one or says which extra installs it.

The core install (data, registry, tracking, CLI) stays light; training, serving, monitoring and the engines are
extras. Every lazy import of an optional package goes through :func:`require`, so a missing one is always the same
clear message::

    lightgbm = require("lightgbm", "train")
    # MissingDependencyError: Training needs the Python package 'lightgbm', which is not installed.
    #   pip install 'conveyor-mlops[train]'

A module that belongs to an extra as a whole (the AutoML search, the inference app) imports its packages at the top
inside :func:`extra_imports`, which turns the same ImportError into the same message and keeps the names typed::

    with extra_imports("train"):
        import optuna
        from sklearn.pipeline import Pipeline
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from types import ModuleType

from conveyor.core.errors import MissingDependencyError

DISTRIBUTION = "conveyor-mlops"

# What each extra is for, in words a user reads in the message.
EXTRA_PURPOSE = {
    "train": "Training", "serve": "Serving", "monitor": "Monitoring", "fairness": "Fairness metrics",
    "server": "The platform server", "features": "The feature store", "redis": "The Redis online store",
    "onnx": "ONNX export and runtime", "gpu": "GPU sampling", "postgres": "PostgreSQL", "s3": "S3 storage",
    "ray": "The Ray executor", "xgboost": "XGBoost", "explain": "SHAP explanations", "demo": "The demo",
    "fast-trees": "Compiled LightGBM trees for serving",
}


# Import name -> the distribution a user would recognise, where the two differ.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "pynvml": "nvidia-ml-py", "yaml": "pyyaml", "psycopg": "psycopg",
                 "prometheus_client": "prometheus-client"}


def install_hint(extra: str) -> str:
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing(module: str, extra: str, *, field: str | None = None) -> MissingDependencyError:
    purpose = EXTRA_PURPOSE.get(extra, f"The {extra!r} extra")
    top = module.partition(".")[0]
    return MissingDependencyError(
        f"{purpose} needs the Python package {DISTRIBUTIONS.get(top, top)!r}, which is not installed.",
        field=field or extra, hint=f"Install it with: {install_hint(extra)}", extra=extra, module=module)


def require(module: str, extra: str, *, field: str | None = None) -> ModuleType:
    """Import ``module`` or raise MissingDependencyError naming ``pip install 'conveyor-mlops[EXTRA]'``.

    Only a missing top-level package is translated; an ImportError inside an installed package (a broken
    install) is re-raised as it is, since installing the extra would not fix it."""
    try:
        return import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        if getattr(exc, "name", None) in (top, module) or importlib.util.find_spec(top) is None:
            raise missing(module, extra, field=field) from None
        raise


@contextmanager
def extra_imports(extra: str) -> Iterator[None]:
    """Module-level imports of an extra's packages: a missing one raises :func:`missing`'s error for ``extra``."""
    try:
        yield
    except ModuleNotFoundError as exc:
        name = exc.name or ""
        if name and not available(name):
            raise missing(name, extra) from None
        raise


def available(module: str) -> bool:
    """Whether ``module``'s top-level package is installed, without importing it."""
    try:
        return importlib.util.find_spec(module.partition(".")[0]) is not None
    except (ImportError, ValueError):
        return False
