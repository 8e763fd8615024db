"""``project.data``: dataset versions, as `conveyor data ...` works with them (ingest, add, list, log, show, diff,
validate, contract, filter, split, scan, checkout), plus joins, feature builds, lineage and frames for Python."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, ConflictError
from conveyor.core.refs import check_name
from conveyor.data import contracts, datasets, files, history, intake, lineage, pii, readers, sources
from conveyor.data import diff as shift
from conveyor.data.contracts import ValidationReport
from conveyor.project._base import LocalAPI, write_page
from conveyor.project._options import drift_policy

Progress = Callable[[int, int], None]
Ref = str | DatasetVersion


class DataAPI(Protocol):
    """Dataset versions. Every method that stores a version returns ``(version, created)`` or the version."""

    def ingest(self, source: str | Path | pd.DataFrame, name: str, *, query: str | None = None,
               on_error: str | None = None, pii: str | None = None, against: str | None = None,
               contract: str | Path | None = None, progress: Progress | None = None
               ) -> tuple[DatasetVersion, bool]: ...

    def add(self, path: str | Path, name: str, *, progress: Progress | None = None
            ) -> tuple[DatasetVersion, bool]: ...

    def get(self, ref: Ref) -> DatasetVersion: ...

    def list(self, name: str | None = None) -> builtins.list[DatasetVersion]: ...

    def log(self, name: str) -> builtins.list[dict[str, Any]]: ...

    def load_frame(self, ref: Ref) -> pd.DataFrame: ...

    def diff(self, a: str, b: str, *, html: str | Path | None = None) -> dict[str, Any]: ...

    def diff_html(self, a: str, b: str) -> str: ...

    def contract_path(self, name: str) -> Path: ...

    def contract(self, ref: str, *, force: bool = False) -> tuple[Path, dict[str, Any]]: ...

    def validate(self, target: str | Path | pd.DataFrame, *, against: str | None = None,
                 contract: str | Path | None = None, name: str | None = None) -> ValidationReport: ...

    def filter(self, ref: Ref, query: str, name: str) -> DatasetVersion: ...

    def split(self, ref: Ref, *, test_fraction: float = 0.2, seed: int = 0) -> tuple[DatasetVersion, ...]: ...

    def join(self, left: Ref, right: Ref, on: builtins.list[str], name: str, how: str = "inner"
             ) -> DatasetVersion: ...

    def build_features(self, ref: Ref, function: Callable[[pd.DataFrame], pd.DataFrame], name: str
                       ) -> DatasetVersion: ...

    def lineage(self, ref: Ref) -> dict[str, Any]: ...

    def scan(self, ref: Ref) -> builtins.list[dict[str, Any]]: ...

    def checkout(self, ref: Ref, dest: str | Path) -> int: ...


class LocalData(LocalAPI):
    """:class:`DataAPI` on this project's stores."""

    def ingest(self, source: str | Path | pd.DataFrame, name: str, *, query: str | None = None,
               on_error: str | None = None, pii: str | None = None, against: str | None = None,
               contract: str | Path | None = None, progress: Progress | None = None
               ) -> tuple[DatasetVersion, bool]:
        """Ingest a file, a folder, ``module:function``, a DataFrame, or (with ``query``) a SQLAlchemy URL, as
        `conveyor data ingest` does. Returns (version, whether it was new).

        The contract checked is ``contract`` (a YAML file), else one inferred from ``against``, else the project's
        ``contracts/NAME.yaml`` when it exists; ``on_error`` (reject | quarantine | warn) defaults to
        ``data.on_error``."""
        options = self._ingest_options(name, query=query, on_error=on_error, pii=pii, against=against,
                                      contract=contract, progress=progress)
        return sources.ingest_source(self.stores, source, name, options)

    def _ingest_options(self, name: str, *, query: str | None = None, on_error: str | None = None,
                       pii: str | None = None, against: str | None = None, contract: str | Path | None = None,
                       progress: Progress | None = None) -> sources.IngestOptions:
        """The checked options of an ingest into ``name`` (its contract and policies resolved); see ingest."""
        check_name(name, "dataset name")
        if on_error is not None and on_error not in intake.ON_ERROR:
            raise BadInputError(f"Unknown --on-error {on_error!r}.", field="on_error",
                                hint=f"Use {', '.join(intake.ON_ERROR)}.")
        if pii is not None and pii not in ("drop", "hash"):
            raise BadInputError(f"Unknown --pii {pii!r}.", field="pii", hint="Use drop or hash.")
        rules = self._contract_for(name, against, contract)
        if on_error is not None and rules is None:
            raise BadInputError(f"--on-error needs a contract for {name!r}.", field="on_error",
                                hint=f"Write contracts/{name}.yaml with `conveyor data contract {name}@VERSION`, "
                                     "or pass --against or --contract.")
        if rules is not None:
            on_error = on_error or self.config.data.on_error
        return sources.IngestOptions(query=query, contract=rules, on_error=on_error, pii=pii, search_path=self.root,
                                     progress=progress)

    def add(self, path: str | Path, name: str, *, progress: Progress | None = None
            ) -> tuple[DatasetVersion, bool]:
        """Version a file or a folder as bytes (like `dvc add`): a manifest of content-addressed files."""
        return files.add_files(self.stores, path, name, progress=progress)

    def get(self, ref: Ref) -> DatasetVersion:
        """The version ``NAME``, ``NAME@VERSION`` (a unique prefix) or ``NAME@latest`` names."""
        return datasets.resolve(self.stores, ref)

    def log(self, name: str) -> builtins.list[dict[str, Any]]:
        """Every version of ``name`` with time, rows, size and what changed since the one before."""
        return history.log(self.list(name))

    def load_frame(self, ref: Ref) -> pd.DataFrame:
        return datasets.load_frame(self.stores, self.get(ref))

    def diff(self, a: str, b: str, *, html: str | Path | None = None) -> dict[str, Any]:
        """Schema changes, row counts and per-column shift between two versions; with ``html``, also write the page
        with overlaid distributions there (the result's ``html``)."""
        first, second = self.get(a), self.get(b)
        result = shift.diff_versions(first, second, policy=drift_policy(self._project))
        if html is not None:
            result["html"] = str(write_page(Path(html), shift.diff_html(result, first, second)))
        return result

    def diff_html(self, a: str, b: str) -> str:
        """The page of :meth:`diff`, as a string."""
        first, second = self.get(a), self.get(b)
        return shift.diff_html(shift.diff_versions(first, second, policy=drift_policy(self._project)), first, second)

    def contract_path(self, name: str) -> Path:
        """Where the project keeps the contract of dataset ``name``: contracts/NAME.yaml."""
        return self.root / "contracts" / f"{check_name(name, 'dataset name')}.yaml"

    def contract(self, ref: str, *, force: bool = False) -> tuple[Path, dict[str, Any]]:
        """Infer a contract from a version and write it to contracts/NAME.yaml for the user to edit."""
        version = self.get(ref)
        path = self.contract_path(version.name)
        if path.exists() and not force:
            raise ConflictError(f"{path} exists and may hold your edits.", field="contract",
                                hint="Pass --force to replace it, or edit it by hand.")
        inferred = contracts.infer_contract(version)
        contracts.write_contract(inferred, path)
        return path, inferred

    def validate(self, target: str | Path | pd.DataFrame, *, against: str | None = None,
                 contract: str | Path | None = None, name: str | None = None) -> ValidationReport:
        """Check a dataset version, a file or a DataFrame against a contract. A file or DataFrame is checked as a
        batch of dataset ``name`` (its contracts/NAME.yaml)."""
        if isinstance(target, pd.DataFrame):
            frame, label = target, "dataframe"
        elif Path(target).is_file():
            frame, label = readers.read_file(target), str(target)
        else:
            version = self.get(str(target))
            frame, name, label = datasets.load_frame(self.stores, version), version.name, version.ref
        name = name or (against.partition("@")[0] if against else None)
        rules = self._contract_for(name, against, contract) if name or contract else None
        if rules is None:
            raise BadInputError(f"No contract for {label}.", field="contract",
                                hint="Pass --name NAME (uses contracts/NAME.yaml), --against NAME@VERSION or "
                                     "--contract FILE.")
        return contracts.validate(rules, frame, label)

    def filter(self, ref: Ref, query: str, name: str) -> DatasetVersion:
        """A derived version of the rows matching a pandas query (the parent is recorded)."""
        return lineage.filter_rows(self.stores, self.get(ref), query, name)

    def split(self, ref: Ref, *, test_fraction: float = 0.2, seed: int = 0) -> tuple[DatasetVersion, ...]:
        """NAME.train and NAME.test by a seeded random split (the parent is recorded)."""
        return lineage.split(self.stores, self.get(ref), test_fraction=test_fraction, seed=seed)

    def join(self, left: Ref, right: Ref, on: builtins.list[str], name: str, how: str = "inner"
             ) -> DatasetVersion:
        return lineage.join(self.stores, self.get(left), self.get(right), on, name, how)

    def build_features(self, ref: Ref, function: Callable[[pd.DataFrame], pd.DataFrame], name: str
                       ) -> DatasetVersion:
        return lineage.build_features(self.stores, self.get(ref), function, name)

    def lineage(self, ref: Ref) -> dict[str, Any]:
        """Parents, children, and the runs and models that used a version."""
        return lineage.lineage(self.stores, self.get(ref))

    def scan(self, ref: Ref) -> builtins.list[dict[str, Any]]:
        """Columns that look personal: emails, phone numbers, card numbers, IP addresses, names."""
        return pii.scan_frame(self.load_frame(ref))

    def checkout(self, ref: Ref, dest: str | Path) -> int:
        """Write a file-set version's files into ``dest``; returns how many were written."""
        return files.checkout(self.stores, self.get(ref), dest)

    def list(self, name: str | None = None) -> builtins.list[DatasetVersion]:
        """Dataset versions, oldest first (of ``name`` only, when given)."""
        if name is not None:
            self.stores.datasets.get_version(name)  # unknown name -> NotFoundError
        return self.stores.datasets.versions(name)

    def _contract_for(self, name: str | None, against: str | None,
                      contract: str | Path | None) -> dict[str, Any] | None:
        if contract is not None:
            return contracts.read_contract(Path(contract))
        if against is not None:
            return contracts.infer_contract(self.get(against))
        if name is None:
            return None
        path = self.contract_path(name)
        return contracts.read_contract(path) if path.is_file() else None

