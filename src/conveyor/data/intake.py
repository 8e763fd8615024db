"""Ingest with policies: personal data dropped or hashed, and a contract checked with reject, quarantine or warn.

Quarantine splits the batch: rows that fail a row-level check become a version of ``NAME.quarantine`` (with the
report in its metadata), the rest become the new version of ``NAME``. A failure no row can be blamed for alone (too
few rows) cannot be quarantined and rejects the batch. Nothing is stored when a batch is rejected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError
from conveyor.core.refs import check_name
from conveyor.data.contracts import ValidationFailed, validate
from conveyor.data.datasets import check_frame, find_by_file_digest, ingest_frame
from conveyor.data.pii import apply_pii
from conveyor.data.readers import checked_reader
from conveyor.store import Stores
from conveyor.store.hashing import digest_bytes, digest_file

ON_ERROR = ("reject", "quarantine", "warn")
QUARANTINE_SUFFIX = ".quarantine"


def policy_key(contract: dict[str, Any] | None, on_error: str | None, pii: str | None) -> dict[str, Any]:
    """What the same file ingested again must match to be the same version without re-reading it."""
    import json

    options: dict[str, Any] = {}
    if pii:
        options["pii"] = pii
    if contract is not None:
        options["contract"] = digest_bytes(json.dumps(contract, sort_keys=True, default=str).encode())[:16]
        options["on_error"] = on_error or "reject"
    return options


def ingest_checked(stores: Stores, frame: pd.DataFrame, name: str, *, source: str = "dataframe",
                   contract: dict[str, Any] | None = None, on_error: str | None = None, pii: str | None = None,
                   meta: dict[str, Any] | None = None, parents: list[str] | None = None,
                   ) -> tuple[DatasetVersion, bool]:
    check_name(name, "dataset name")
    if on_error is not None and on_error not in ON_ERROR:
        raise BadInputError(f"Unknown --on-error {on_error!r}.", field="on_error", hint=f"Use {', '.join(ON_ERROR)}.")
    if on_error is not None and contract is None:
        raise BadInputError(f"No contract to check {name!r} against.", field="contract",
                            hint=f"Write one with `conveyor data contract {name}@VERSION`, or pass --against.")
    frame = check_frame(frame, source)
    meta = dict(meta or {})
    if pii:
        frame, meta["pii"] = apply_pii(frame, pii)
    if contract is None:
        return ingest_frame(stores, frame, name, source=source, meta=meta, parents=parents)
    on_error = on_error or "reject"
    report = validate(contract, frame, source)
    meta["validation"] = report.as_dict()
    if report.passed or on_error == "warn":
        return ingest_frame(stores, frame, name, source=source, meta=meta, parents=parents)
    if on_error == "reject":
        raise ValidationFailed(f"{source} failed its contract: {report.summary()}.", report)
    if report.table_failed or len(report.bad_rows) == len(frame):
        raise ValidationFailed(f"{source} cannot be quarantined row by row ({report.summary()}); nothing was "
                               f"stored.", report)
    bad = frame.index.isin(report.bad_rows)
    quarantined, _ = ingest_frame(stores, frame[bad], name + QUARANTINE_SUFFIX, source=source,
                                  meta={"quarantine_of": name, "validation": report.as_dict()}, parents=parents)
    meta["quarantine"] = f"{quarantined.name}@{quarantined.version}"
    meta["quarantined_rows"] = int(bad.sum())
    return ingest_frame(stores, frame[~bad], name, source=source, meta=meta, parents=parents)


def ingest_file_checked(stores: Stores, path: str | Path, name: str, *, contract: dict[str, Any] | None = None,
                        on_error: str | None = None, pii: str | None = None, format: str | None = None,
                        ) -> tuple[DatasetVersion, bool]:
    """A file through :func:`ingest_checked`; the same file with the same policies again costs one hash."""
    check_name(name, "dataset name")
    path = Path(path)
    reader = checked_reader(path, format)
    options = {**policy_key(contract, on_error, pii), **({"format": format} if format else {})}
    file_digest = digest_file(path)
    known = find_by_file_digest(stores, name, file_digest, options)
    if known is not None:
        return known, False
    return ingest_checked(stores, reader.load(path), name, source=str(path.resolve()), contract=contract,
                          on_error=on_error, pii=pii, meta={"file_digest": file_digest, "options": options})
