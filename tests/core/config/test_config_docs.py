"""docs/configuration.md is generated from the sections: it documents every key and cannot fall behind."""

from __future__ import annotations

from pathlib import Path

from conveyor.core.config import builtin_sections, legacy_keys
from conveyor.core.config.docs import render

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_the_configuration_doc_is_current():
    assert DOC.read_text() == render(), (
        "docs/configuration.md is stale: run `python -m conveyor.core.config.docs > docs/configuration.md`")


def test_the_doc_names_every_key_and_every_moved_key():
    text = DOC.read_text()
    for section in builtin_sections():
        for spec in section.specs():
            assert f"| `{section.section}.{spec.key}` |" in text
    for old, new in legacy_keys().items():
        assert f"| `{old}` | `{new}` |" in text
