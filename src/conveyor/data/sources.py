"""Ingest sources: what ``conveyor data ingest SOURCE`` (and ``project.ingest``) accepts, one :class:`Source` each.

Built-ins, in the order they are asked whether a SOURCE is theirs: ``sql`` (a SQLAlchemy URL given with a query),
``dataframe`` (a pandas DataFrame), ``function`` (``module:function`` returning a DataFrame), ``folder`` (a folder
of files, versioned as bytes), then any plug-in, and last ``file`` (a file any reader can read, by extension or
``format``). The contract of a Source:

* ``claims(source, options)`` says, cheaply and without side effects, whether SOURCE is its kind;
* ``read(source, options)`` returns the data as a DataFrame (raise BadInputError naming ``source`` for a bad one);
* ``ingest`` (derived) stores it through :func:`~conveyor.data.intake.ingest_checked`, so the project's contract,
  ``on_error`` and ``pii`` policies apply to every table source alike; built-ins override it to stream (files,
  SQL) or to store bytes (folders);
* ``label(source)`` is what the version records as its ``source`` (never a password).

Other packages add sources through the entry-point group ``conveyor.sources`` (a Source subclass or instance)::

    [project.entry-points."conveyor.sources"]
    s3 = "my_package.sources:S3Source"

SQL lives in :mod:`conveyor.data.sql` (streamed, or read whole when a contract or ``pii`` needs the batch).
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError, ConveyorError, first_line
from conveyor.core.plugins import Registry
from conveyor.data import files, intake
from conveyor.data.datasets import ingest_file, ingest_frame
from conveyor.data.readers import read_file
from conveyor.data.sql import ingest_sql, read_sql, safe_url, sql_label, sql_url
from conveyor.store import Stores
from conveyor.store.urls import mask

log = logging.getLogger("conveyor.data")

FUNCTION_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def is_function_ref(text: str) -> bool:
    return bool(FUNCTION_REF.match(text))


def ingest_function(stores: Stores, ref: str, name: str, *, search_path: Path | None = None
                    ) -> tuple[DatasetVersion, bool]:
    """Call ``module:function`` (no arguments) and store the DataFrame it returns."""
    return ingest_frame(stores, call_function(ref, search_path), name, source=f"python:{ref}")


def call_function(ref: str, search_path: Path | None = None) -> pd.DataFrame:
    """The DataFrame ``module:function`` returns, the module found on ``search_path`` first."""
    if not is_function_ref(ref):
        raise BadInputError(f"{ref!r} is not a function reference.", field="source",
                            hint="Write it as module.path:function_name.")
    module_name, _, function_name = ref.partition(":")
    added = search_path is not None and str(search_path) not in sys.path
    if added:
        sys.path.insert(0, str(search_path))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BadInputError(f"Cannot import {module_name!r}: {first_line(exc)}", field="source",
                            hint="Run from the folder that holds the module, or install it.") from None
    finally:
        if added:
            sys.path.remove(str(search_path))
    function = getattr(module, function_name, None)
    if not callable(function):
        raise BadInputError(f"{module_name!r} has no function {function_name!r}.", field="source",
                            hint="Check the name after the colon.")
    try:
        frame = function()
    except Exception as exc:  # the user's code failed: say where, not a traceback of ours
        raise BadInputError(f"{ref} raised {type(exc).__name__}: {first_line(exc)}", field="source",
                            hint="Fix the function, then ingest again.") from None
    if not isinstance(frame, pd.DataFrame):
        raise BadInputError(f"{ref} returned {type(frame).__name__}, not a pandas DataFrame.", field="source",
                            hint="Return a DataFrame from the function.")
    return frame


@dataclass(frozen=True)
class IngestOptions:
    """How one SOURCE is ingested: ``query`` for SQL; ``contract``, ``on_error`` and ``pii`` are the policies of
    :mod:`conveyor.data.intake`; ``format`` names a file's reader; ``search_path`` is where ``module:function``
    modules are found first (the project's folder); ``progress`` gets ``(done, total)``."""

    query: str | None = None
    contract: dict[str, Any] | None = None
    on_error: str | None = None
    pii: str | None = None
    format: str | None = None
    search_path: Path | None = None
    progress: Callable[[int, int], None] | None = None
    label: str | None = None

    @property
    def checked(self) -> bool:
        """Whether a policy needs the rows as a table (a contract to check, personal data to drop or hash)."""
        return self.contract is not None or self.pii is not None


class Source(ABC):
    """One kind of SOURCE. Subclasses set ``name`` and implement ``claims`` and ``read``."""

    name: ClassVar[str]

    @abstractmethod
    def claims(self, source: Any, options: IngestOptions) -> bool:
        """Whether ``source`` is this kind (cheap, no side effects)."""

    @abstractmethod
    def read(self, source: Any, options: IngestOptions) -> pd.DataFrame:
        """The data of ``source`` as a DataFrame."""

    def label(self, source: Any) -> str:
        """What the version records as its source."""
        return f"{self.name}:{source}"

    def ingest(self, stores: Stores, source: Any, name: str, options: IngestOptions) -> tuple[DatasetVersion, bool]:
        """Store ``source`` as a version of ``name`` with the options' policies; (version, whether it was new)."""
        return intake.ingest_checked(stores, self.read(source, options), name, source=self.label(source),
                                     contract=options.contract, on_error=options.on_error, pii=options.pii)


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def _path(source: Any) -> Path:
    text = str(source)
    if isinstance(source, str) and not text.strip():
        raise BadInputError("The source is empty.", field="source", hint="Pass a file, a folder or a URL.")
    if "\x00" in text:
        raise BadInputError("The source path contains a NUL byte.", field="source", hint="Pass a plain file path.")
    if isinstance(source, str) and _URL.match(text):  # the URL itself may hold a password: only its masked form
        raise BadInputError(f"Unsupported source URL {mask(text)!r}: no source kind reads "
                            f"{text.split('://', 1)[0].lower()}:// URLs.", field="source",
                            hint="Pass a local path, a SQLAlchemy URL with --query, or module:function.")
    path = Path(source)
    return path if path.is_absolute() else Path.cwd() / path


class SqlSource(Source):
    """A SQLAlchemy URL with a query: streamed in chunks, or read whole when a policy needs the batch."""

    name = "sql"

    def claims(self, source: Any, options: IngestOptions) -> bool:
        return options.query is not None

    def read(self, source: Any, options: IngestOptions) -> pd.DataFrame:
        return read_sql(str(source), options.query or "")

    def label(self, source: Any) -> str:
        return f"sql:{safe_url(sql_url(str(source)))}"  # ingest records the query too (sql_label)

    def ingest(self, stores: Stores, source: Any, name: str, options: IngestOptions) -> tuple[DatasetVersion, bool]:
        url, query = str(source), options.query or ""
        if not options.checked:
            return ingest_sql(stores, url, query, name, label=options.label)
        return intake.ingest_checked(stores, read_sql(url, query), name, source=options.label or sql_label(url, query),
                                     contract=options.contract, on_error=options.on_error, pii=options.pii)


class DataFrameSource(Source):
    name = "dataframe"

    def claims(self, source: Any, options: IngestOptions) -> bool:
        return isinstance(source, pd.DataFrame)

    def read(self, source: Any, options: IngestOptions) -> pd.DataFrame:
        return source

    def label(self, source: Any) -> str:
        return "dataframe"


class FunctionSource(Source):
    """``module:function``, called without arguments, its module found in the project's folder first."""

    name = "function"

    def claims(self, source: Any, options: IngestOptions) -> bool:
        return isinstance(source, str | Path) and is_function_ref(str(source)) and not _path(source).exists()

    def read(self, source: Any, options: IngestOptions) -> pd.DataFrame:
        return call_function(str(source), options.search_path)

    def label(self, source: Any) -> str:
        return f"python:{source}"


class FolderSource(Source):
    """A folder of files, versioned as bytes (like `dvc add`); contracts and --pii apply to tables only."""

    name = "folder"

    def claims(self, source: Any, options: IngestOptions) -> bool:
        return isinstance(source, str | Path) and not _URL.match(str(source)) and "\x00" not in str(source) \
            and _path(source).is_dir()

    def read(self, source: Any, options: IngestOptions) -> pd.DataFrame:
        raise BadInputError(f"{source} is a folder of files, not a table.", field="source",
                            hint="Ingest one of its files, or version the folder as bytes.")

    def ingest(self, stores: Stores, source: Any, name: str, options: IngestOptions) -> tuple[DatasetVersion, bool]:
        if options.checked:
            raise BadInputError(f"{_path(source)} is a folder of files; contracts and --pii apply to tables.",
                                field="source", hint="Version the folder without them.")
        return files.add_files(stores, _path(source), name, progress=options.progress)


class FileSource(Source):
    """A file any reader reads (by extension, or ``format``): the source every other one falls back to."""

    name = "file"

    def claims(self, source: Any, options: IngestOptions) -> bool:
        return isinstance(source, str | Path)

    def read(self, source: Any, options: IngestOptions) -> pd.DataFrame:
        return read_file(_path(source), options.format)

    def label(self, source: Any) -> str:
        return str(_path(source).resolve())

    def ingest(self, stores: Stores, source: Any, name: str, options: IngestOptions) -> tuple[DatasetVersion, bool]:
        path = _path(source)
        if options.checked:
            return intake.ingest_file_checked(stores, path, name, contract=options.contract,
                                              on_error=options.on_error, pii=options.pii, format=options.format)
        return ingest_file(stores, path, name, progress=options.progress, format=options.format)


def _check_source(name: str, value: object) -> None:
    target = value if isinstance(value, type) else type(value)
    if not (isinstance(target, type) and issubclass(target, Source)):
        raise BadInputError(f"The source {name!r} is {target.__name__}, not a conveyor.data.sources.Source.",
                            field="source", hint="Make the entry point name a Source subclass or instance.")


SOURCES: Registry[Source | type[Source]] = Registry("source kind", "conveyor.sources", field="source",
                                                    check=_check_source)
for _builtin in (SqlSource(), DataFrameSource(), FunctionSource(), FolderSource(), FileSource()):
    SOURCES.register(_builtin.name, _builtin)
FALLBACK = "file"
BUILT_INS = ("sql", "dataframe", "function", "folder", "file")


def get_source(name: str) -> Source:
    """The source kind registered as ``name``; NotFoundError with "did you mean" naming ``source``."""
    value = SOURCES.get(name)
    return value() if isinstance(value, type) else value


def source_for(source: Any, options: IngestOptions, kind: str | None = None) -> Source:
    """The Source that ingests ``source``: the one named ``kind``, else the first that claims it (built-ins, then
    plug-ins, then ``file``). A plug-in that cannot be loaded is skipped with a warning, never blocking the rest."""
    if kind is not None:
        return get_source(kind)
    for name in [n for n in SOURCES.names() if n != FALLBACK] + [FALLBACK]:
        try:
            candidate = get_source(name)
        except (ConveyorError, ImportError) as exc:
            if name in BUILT_INS:
                raise
            log.warning("source kind %r could not be loaded: %s", name, exc)
            continue
        if candidate.claims(source, options):
            return candidate
    raise BadInputError(f"Cannot ingest {type(source).__name__} {source!r}.", field="source",
                        hint="Give a file, a folder, module:function, a DataFrame, or a database URL with a query.")


def ingest_source(stores: Stores, source: Any, name: str, options: IngestOptions | None = None, *,
                  kind: str | None = None) -> tuple[DatasetVersion, bool]:
    """Ingest ``source`` (a file, folder, ``module:function``, DataFrame, SQL URL with ``options.query``, or what a
    plug-in claims) as a version of ``name``; returns (version, whether it was new)."""
    options = options or IngestOptions()
    if options.on_error is not None and options.on_error not in intake.ON_ERROR:
        raise BadInputError(f"Unknown --on-error {options.on_error!r}.", field="on_error",
                            hint=f"Use {', '.join(intake.ON_ERROR)}.")
    return source_for(source, options, kind).ingest(stores, source, name, options)
