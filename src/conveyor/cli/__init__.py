"""L4: the `conveyor` command. It translates between people (tables, progress bars) or machines (--json)
and the Python API; no business logic lives here."""

from conveyor.cli.main import main

__all__ = ["main"]
