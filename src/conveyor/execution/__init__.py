"""L1: executors shaped like concurrent.futures.Executor (inline, threads, local processes; Ray with the extra
``ray``), found by name in the :data:`EXECUTORS` registry (entry-point group ``conveyor.executors``)."""

from conveyor.execution.executors import EXECUTORS, ExecutorFactory, InlineExecutor, check_executor, get_executor

__all__ = ["EXECUTORS", "ExecutorFactory", "InlineExecutor", "check_executor", "get_executor"]
