"""Hot reload: follow the alias a server was started on and swap in the version it points to, without a restart.

A :class:`ModelHolder` owns the :class:`Served` version of one reference (``NAME@ALIAS``, ``NAME:N`` or ``NAME``).
For an alias (or a bare name, which means the newest version) a watcher thread polls the registry every
``interval`` seconds; when the version changes, it loads the new one *beside* the old, then replaces the single
reference requests read. A request reads that reference once, at its start, and uses that version for everything
(predict, log, response header), so no request is mixed and none fails: the old version keeps serving the requests
that already hold it and is freed when the last of them is done.

Where versions come from is a :class:`ModelSource`: the project's stores (:class:`StoreSource`), or a conveyor
server when `conveyor serve` runs against one (``conveyor.client.serving.RemoteSource``).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from conveyor.core.entities import ModelVersion
from conveyor.core.refs import ModelRef
from conveyor.registry.loaded import LoadedModel
from conveyor.registry.models import load_model, resolve_model
from conveyor.serve.predlog import PredictionLogger
from conveyor.serve.scoring import Served
from conveyor.store import Stores

log = logging.getLogger(__name__)


class ModelSource(Protocol):
    """Where a server finds the version a reference names now, and loads it."""

    def resolve(self, ref: str) -> ModelVersion: ...

    def load(self, version: ModelVersion) -> LoadedModel: ...


class StoreSource:
    """Versions from the project's stores (the registry; trust and signatures checked on load)."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    def resolve(self, ref: str) -> ModelVersion:
        return resolve_model(self.stores, ref)

    def load(self, version: ModelVersion) -> LoadedModel:
        return load_model(self.stores, version)


class ModelHolder:
    def __init__(self, stores: Stores, ref: str, logger: PredictionLogger | None, *, role: str = "primary",
                 interval: float = 1.0, source: ModelSource | None = None,
                 predictor: Callable[[LoadedModel], Any] | None = None) -> None:
        self.stores = stores
        self.source = source or StoreSource(stores)
        self.ref = ref
        self.parsed = ModelRef.parse(ref)
        self.logger = logger
        self.role = role
        self.interval = interval
        self.predictor = predictor  # how a loaded version scores (None: its own library)
        self.current = Served(self.source.load(self.source.resolve(ref)), logger, role, predictor)
        self.on_swap: list[Callable[[Served, Served], None]] = []
        self.reloads = 0
        self.reload_errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def follows(self) -> bool:
        """Whether the reference can move (an alias or the newest version) rather than name one version."""
        return self.parsed.version is None

    def set_logger(self, logger: PredictionLogger | None) -> None:
        self.logger = logger
        self.current.logger = logger

    def check(self) -> bool:
        """Swap in the version the reference points to now, if it changed; True when it did."""
        version = self.source.resolve(self.ref)
        if version.ref == self.current.ref:
            return False
        fresh = Served(self.source.load(version), self.logger, self.role, self.predictor)
        old, self.current = self.current, fresh  # one reference assignment: atomic for every reader
        self.reloads += 1
        if gc.get_freeze_count():  # a server process that froze its heap at start (runner.tune_gc): the new model too
            gc.freeze()
        log.warning("%s now serves %s (was %s).", self.ref, fresh.ref, old.ref)
        for callback in self.on_swap:
            callback(old, fresh)
        return True

    def start(self) -> None:
        if not self.follows or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name=f"conveyor-reload {self.ref}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # a registry hiccup or a broken artifact: keep serving the version we have
                self.reload_errors += 1
                log.warning("Checking %s for a new version failed; still serving %s.", self.ref, self.current.ref,
                            exc_info=True)
