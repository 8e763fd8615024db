"""Entry point: error handling for every verb (exit 2 with one clear line, never a traceback)."""

from __future__ import annotations

import json
import os
import sys

from conveyor._version import __version__

FAST_EXIT_VERBS = {"train"}
"""Verbs whose process ends without the interpreter's teardown (freeing a few thousand modules of scikit-learn,
LightGBM, Optuna: 0.5 s, and seconds on a loaded machine) once their work is stored and their output flushed:
`conveyor train --budget` bounds the command, and the teardown does nothing the OS does not do at exit. Only when
``main`` is the process's entry point (``argv`` not given), never for a caller that runs it in-process."""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if argv is None and args and args[0] in FAST_EXIT_VERBS:
        try:
            main(args)
        except SystemExit as exc:
            _exit_now(exc.code)
        _exit_now(0)
    if args in (["--version"], ["-V"]):  # answered before any import: start-up time matters for scripts
        print(f"conveyor {__version__}")
        return
    from conveyor.core.errors import ConveyorError

    app = _app_for(args)  # keeps `--version` free of typer/rich imports

    _plain_warnings()
    try:
        app(args=args, prog_name="conveyor", standalone_mode=True)
    except SystemExit as exc:
        # typer has already shown a usage error (unknown option, missing argument) on stderr, with exit code 2
        if exc.code == 2 and "--json" in args:
            print(json.dumps({"error": "usage", "message": "Invalid usage; stderr says which option or argument.",
                              "exit_code": 2}))
        raise
    except ConveyorError as exc:
        if "--json" in args and exc.exit_code == 2:  # the one JSON document (a failed check printed its own)
            print(json.dumps({**exc.to_dict(), "exit_code": exc.exit_code}))
        _fail(f"error: {exc}", exc.exit_code, exc)
    except KeyboardInterrupt:
        _fail("interrupted", 130, None)
    except Exception as exc:  # the last line of defence: a bug still gets one readable line, not a traceback
        _fail(f"internal error: {type(exc).__name__}: {exc} (set CONVEYOR_DEBUG=1 to see the traceback, "
              f"and please report it)", 1, exc)


HELP = "Conveyor: data versions, AutoML, registry, serving, monitoring and retraining in one tool."
FAST_GROUPS = {"data": "conveyor.cli.data"}
"""Verb groups whose module is self-contained: ``conveyor data ...`` builds only that group (about half a second
less start-up than importing and building every verb group: `data add` is called by scripts like `dvc add`)."""


def _app_for(args: list[str]):
    """The typer app for ``args``: the whole command tree, or one group of FAST_GROUPS alone (same help/usage)."""
    if args and args[0] in FAST_GROUPS:
        import importlib

        import typer


        app = typer.Typer(name="conveyor", help=HELP, no_args_is_help=True, pretty_exceptions_enable=False,
                          add_completion=False)
        app.add_typer(importlib.import_module(FAST_GROUPS[args[0]]).app, name=args[0])
        return app
    from conveyor.cli.app import app as full

    return full


def _plain_warnings() -> None:
    """A moved key of conveyor.yaml is one line on stderr (``warning: ...``), not a Python warning with a path."""
    import warnings

    from conveyor.core.config import ConfigDeprecationWarning

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ConfigDeprecationWarning):
            print(f"warning: {message}", file=sys.stderr)
            return
        shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def _exit_now(code: int | str | None) -> None:
    """End the process at once (no interpreter teardown) after what ``sys.exit`` would still do here: flush the
    output and the log handlers, and save coverage data when the test suite measures this process."""
    import logging

    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    coverage = sys.modules.get("coverage")  # a measured test run saves its data at exit: save it now
    measuring = coverage.Coverage.current() if coverage is not None else None
    if measuring is not None:
        measuring.stop()
        measuring.save()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code or 0)


def _fail(message: str, code: int, exc: BaseException | None) -> None:
    if exc is not None and os.environ.get("CONVEYOR_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    print(message, file=sys.stderr)
    raise SystemExit(code)
