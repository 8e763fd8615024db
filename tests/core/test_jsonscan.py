"""The nesting scan that guards every JSON body before a parser sees it."""

from __future__ import annotations

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
