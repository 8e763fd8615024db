"""Contract suites and checkers, shipped so that plug-in authors can prove their own implementations.

- ``check_notifier(notifier, settings_for)``: a notifier against a real HTTP receiver (``notifier_check``);
- ``check_reader(reader)``: a file format's round trip and its errors (``reader_check``);
- ``check_executor(factory)``: the ``concurrent.futures`` contract (``executor_contract``);
- ``check_family(family)``: a model family on tiny data for each task it declares (``family_check``);
- ``check_flavor(flavor, model, rows)``: a model flavor's round trip, suffixes, native predictor and contributions
  (``flavor_check``);
- the online feature store suite and a throwaway ``redis-server`` (``online_store_contract``);
- the metadata and artifact store suites (``metadata_contract``, ``artifact_contract``), a throwaway PostgreSQL
  (``postgres``), a throwaway S3-compatible server and a throttling proxy (``s3``), a mixed concurrent load on a
  metadata store and its invariants (``concurrency``), a plug-in distribution writer (``plugins``) and helpers for
  conveyor's own tests (``browser``, ``processes``).

The checkers resolve on first use (PEP 562), so importing one helper module does not import them all.
"""

from importlib import import_module
from typing import Any

_HOMES = {"check_executor": "executor_contract", "check_family": "family_check", "check_flavor": "flavor_check",
          "check_notifier": "notifier_check", "check_reader": "reader_check"}

__all__ = ["check_executor", "check_family", "check_flavor", "check_notifier", "check_reader"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"conveyor.testing.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'conveyor.testing' has no attribute {name!r}")
