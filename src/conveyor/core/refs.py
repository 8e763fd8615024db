"""References users type: ``NAME@VERSION`` (dataset), ``MODEL:N`` (model version), ``MODEL@ALIAS``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from conveyor.core.errors import BadInputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def check_name(name: str, kind: str = "name") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):  # match with $ lets "name\n" through
        raise BadInputError(
            f"Invalid {kind} {name!r}.",
            field=kind,
            hint="Use 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit.",
        )
    return name


@dataclass(frozen=True)
class DatasetRef:
    name: str
    version: str = "latest"

    @classmethod
    def parse(cls, text: str) -> DatasetRef:
        name, _, version = text.partition("@")
        check_name(name, "dataset name")
        return cls(name, version or "latest")

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class ModelRef:
    """``MODEL:N`` pins a version, ``MODEL@ALIAS`` follows an alias, bare ``MODEL`` means its newest version."""

    name: str
    version: int | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        if "@" in text:
            name, _, alias = text.partition("@")
            check_name(name, "model name")
            check_name(alias, "alias")
            return cls(name, alias=alias)
        if ":" in text:
            name, _, number = text.partition(":")
            check_name(name, "model name")
            if not number.isdigit() or int(number) < 1:
                raise BadInputError(
                    f"Invalid model version {text!r}.",
                    field="model",
                    hint="Write MODEL:N with N a positive integer, e.g. churn:3.",
                )
            return cls(name, version=int(number))
        check_name(text, "model name")
        return cls(text)

    def __str__(self) -> str:
        if self.alias:
            return f"{self.name}@{self.alias}"
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return self.name
