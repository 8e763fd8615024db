"""Personal data: find columns that look personal, and drop or hash them before they are stored.

A column is flagged when most of its sampled values match one detector (emails, phone numbers, card numbers that
pass the Luhn check, IP addresses) or when its header names a person (name, first_name, surname, ...). Hashing
keeps joins possible (the same value gives the same token) without keeping the value; with ``CONVEYOR_PII_KEY``
set the hash is keyed, so tokens cannot be reversed by hashing a list of guesses.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable
from typing import Any

import blake3
import pandas as pd

from conveyor.core.errors import BadInputError

SAMPLE = 2000
SHARE = 0.5
"""The share of sampled non-null values that must match for a column to be flagged."""

EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[\d\s().\-]{7,20}$")
CARD = re.compile(r"^[\d\s\-]{13,23}$")
NAME_HEADERS = re.compile(r"(^|_)(name|first_?name|last_?name|full_?name|surname|given_?name|family_?name|"
                          r"forename|customer_?name|person)$", re.I)
ACTIONS = ("drop", "hash")


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card(text: str) -> bool:
    if not CARD.match(text):
        return False
    digits = re.sub(r"\D", "", text)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _is_phone(text: str) -> bool:
    if not PHONE.match(text) or _is_card(text):
        return False
    digits = re.sub(r"\D", "", text)
    # a bare run of digits is more often an id than a phone number: ask for a "+" or a separator
    return 9 <= len(digits) <= 15 and (text.startswith("+") or bool(re.search(r"[\s().\-]", text)))


def _is_ip(text: str) -> bool:
    if not re.match(r"^[0-9A-Fa-f:.]{3,45}$", text) or text.count(".") not in (0, 3):
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


DETECTORS: dict[str, Callable[[str], object]] = {"email": EMAIL.match, "card_number": _is_card,
                                                 "ip_address": _is_ip, "phone": _is_phone}


def scan_frame(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One finding per flagged column: ``{"column", "kind", "share", "reason"}``."""
    findings = []
    for name in frame.columns:
        series = frame[name]
        if NAME_HEADERS.search(str(name)) and not pd.api.types.is_numeric_dtype(series):
            findings.append({"column": str(name), "kind": "person_name", "share": 1.0, "reason": "header"})
            continue
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_integer_dtype(series):
            continue  # floats are measurements, not identifiers
        values = series.dropna()
        if values.empty:
            continue
        sample = values.sample(min(SAMPLE, len(values)), random_state=0).astype(str).str.strip()
        for kind, detect in DETECTORS.items():
            share = sum(bool(detect(v)) for v in sample) / len(sample)
            if share >= SHARE:
                findings.append({"column": str(name), "kind": kind, "share": round(share, 4), "reason": "values"})
                break
    return findings


def apply_pii(frame: pd.DataFrame, action: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Drop or hash every flagged column; return the frame and what was done (for the version's metadata)."""
    if action not in ACTIONS:
        raise BadInputError(f"Unknown --pii action {action!r}.", field="pii", hint="Use drop or hash.")
    findings = scan_frame(frame)
    columns = [f["column"] for f in findings]
    if action == "drop":
        if len(columns) == frame.shape[1]:
            raise BadInputError("Every column looks personal; dropping them leaves nothing.", field="pii",
                                hint="Use --pii hash, or ingest without --pii.")
        frame = frame.drop(columns=columns)
    else:
        key = os.environ.get("CONVEYOR_PII_KEY")
        frame = frame.copy()
        for column in columns:
            frame[column] = frame[column].map(lambda v, k=key: None if pd.isna(v) else _token(str(v), k))
    return frame, {"action": action, "columns": findings, "keyed": action == "hash" and bool(
        os.environ.get("CONVEYOR_PII_KEY"))}


def _token(value: str, key: str | None) -> str:
    hasher = blake3.blake3(key=blake3.blake3(key.encode()).digest()) if key else blake3.blake3()
    hasher.update(value.encode())
    return hasher.hexdigest()[:32]
