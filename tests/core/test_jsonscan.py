"""The nesting scan that guards every JSON body before a parser sees it."""

from __future__ import annotations

import random

from conveyor.core.jsonscan import nests_deeper_than


def test_the_limit_itself_passes_and_one_more_level_is_refused():
    assert not nests_deeper_than(b"[" * 4 + b"1" + b"]" * 4, 4)
    assert nests_deeper_than(b"[" * 5 + b"1" + b"]" * 5, 4)


def test_brackets_inside_strings_do_not_count_and_escaped_quotes_stay_in_the_string():
    body = b'{"a": "[[[[{{{{\\"[[[[", "b": [1, 2]}'
    assert not nests_deeper_than(body, 2)
    assert nests_deeper_than(b'{"a": [[["x"]]]}', 3)


def test_siblings_do_not_add_up():
    assert not nests_deeper_than(b"[" + b"[1]," * 100 + b"[2]]", 2)


def _walk_every_byte(raw: bytes, limit: int) -> bool:
    """The scan as it was first written (a Python walk over every byte): the reference the fast scan must match."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def test_the_scan_agrees_with_a_walk_over_every_byte_on_random_bodies():
    rng = random.Random(7)
    alphabet = b'[]{}"\\ a1,:\n'
    for _ in range(3000):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        for limit in (0, 1, 2, 4):
            assert nests_deeper_than(body, limit) == _walk_every_byte(body, limit), (body, limit)


def test_a_deep_row_list_in_a_long_body_is_judged_on_its_brackets():
    rows = b"[" + b",".join(b"[" + b",".join(b"0.125" for _ in range(20)) + b"]" for _ in range(40)) + b"]"
    assert not nests_deeper_than(b'{"dataframe_split": {"columns": ["a[[["], "data": ' + rows + b"}}", 4)
    assert nests_deeper_than(b'{"x": ' + b"[" * 40 + b"]" * 40 + b"}", 32)
    assert nests_deeper_than(b'{"x": "unterminated [[[[', 1) is False
