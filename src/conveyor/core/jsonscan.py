"""How deeply a JSON document nests, read from its bytes before any parser sees it: a parser recurses, and a body of
``[[[[...`` a million levels deep would exhaust the stack or the error formatting long before it is refused."""

from __future__ import annotations

__all__ = ["nests_deeper_than"]

_OPEN = (0x5B, 0x7B)  # [ {
_CLOSE = (0x5D, 0x7D)  # ] }


def nests_deeper_than(raw: bytes, limit: int) -> bool:
    """True when a bracket outside a string opens level ``limit + 1``. Cheap for flat bodies: the exact walk runs
    only when the body holds more opening brackets than ``limit`` at all."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in raw:  # exact: brackets inside strings do not count
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSE:
            depth -= 1
    return False
