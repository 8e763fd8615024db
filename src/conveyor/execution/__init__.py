"""L1: executors shaped like concurrent.futures.Executor (inline, local processes; Ray with the extra)."""

from conveyor.execution.executors import InlineExecutor, check_executor, get_executor

__all__ = ["InlineExecutor", "check_executor", "get_executor"]
