"""A live progress bar for searches: trials done, best score so far, time left (on stderr)."""

from __future__ import annotations

from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from conveyor.cli.output import err_console


@contextmanager
def search_progress(budget_seconds: float, label: str = "search", enabled: bool = True):
    """Yields an ``on_trial(trial, best, elapsed)`` callback that drives the bar."""
    if not enabled:
        yield None
        return
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                        TimeRemainingColumn(), console=err_console, transient=False)
    with progress:
        task = progress.add_task(label, total=budget_seconds, status="starting")

        counts = {"complete": 0, "pruned": 0, "failed": 0}

        def on_trial(trial, best, elapsed):
            counts[getattr(trial, "state", "complete")] = counts.get(getattr(trial, "state", "complete"), 0) + 1
            best_text = "-" if best is None else f"{best:.4f}"
            progress.update(task, completed=min(elapsed, budget_seconds),
                            status=f"trials {sum(counts.values())} ({counts['pruned']} pruned)  last "
                                   f"{trial.family}  best {best_text}")

        yield on_trial
        progress.update(task, completed=budget_seconds)


@contextmanager
def rows_progress(label: str, enabled: bool = True):
    """Yields an ``on_chunk(rows_done, rows_total_or_None)`` callback driving a rows bar (on stderr)."""
    if not enabled:
        yield None
        return
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                        TimeRemainingColumn(), console=err_console, transient=False)
    with progress:
        task = progress.add_task(label, total=None)

        def on_chunk(done, total):
            progress.update(task, completed=done, total=total)

        yield on_chunk


@contextmanager
def items_progress(label: str, enabled: bool = True):
    """Yields an ``on_item(kind, n)`` callback counting items done per kind on one bar (on stderr)."""
    if not enabled:
        yield None
        return
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                        console=err_console, transient=False)
    with progress:
        task = progress.add_task(label, total=None, status="")
        counts: dict[str, int] = {}

        def on_item(kind, n=1):
            counts[kind] = counts.get(kind, 0) + n
            progress.update(task, advance=n, status="  ".join(f"{k} {v}" for k, v in counts.items()))

        yield on_item
        progress.update(task, total=sum(counts.values()) or 1, completed=sum(counts.values()) or 1)
