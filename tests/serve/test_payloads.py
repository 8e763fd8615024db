"""Parsing scoring bodies and checking them against a signature, without a server."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conveyor.core.errors import BadInputError, PayloadTooLargeError
from conveyor.serve.conform import conform
from conveyor.serve.payloads import (
    InvalidJSONError,
    UnsupportedMediaTypeError,
    decode_json,
    frame_from_json,
    parse_body,
    parse_feedback,
    parse_json_payload,
)

INPUTS = [
    {"name": "age", "dtype": "int64", "kind": "numeric"},
    {"name": "plan", "dtype": "str", "kind": "categorical"},
    {"name": "active", "dtype": "bool", "kind": "bool"},
]
NAMES = [c["name"] for c in INPUTS]
EXPECTED = pd.DataFrame({"age": [30.0, 41.0], "plan": ["basic", "pro"], "active": [True, False]})


@pytest.mark.parametrize("body", [
    {"dataframe_split": {"columns": ["age", "plan", "active"], "data": [[30, "basic", True], [41, "pro", False]]}},
    {"dataframe_split": {"columns": ["active", "plan", "age"], "data": [[True, "basic", 30], [False, "pro", 41]],
                         "index": [7, 9]}},
    {"dataframe_split": {"data": [[30, "basic", True], [41, "pro", False]]}},  # columns default to signature order
    {"dataframe_records": [{"age": 30, "plan": "basic", "active": True}, {"plan": "pro", "age": 41, "active": False}]},
    {"instances": [{"age": 30, "plan": "basic", "active": True}, {"age": 41, "plan": "pro", "active": False}]},
    {"instances": [[30, "basic", True], [41, "pro", False]]},
    {"inputs": {"age": [30, 41], "plan": ["basic", "pro"], "active": [True, False]}},
    {"inputs": [[30, "basic", True], [41, "pro", False]]},
])
def test_every_format_gives_the_same_frame(body):
    payload = parse_json_payload(body, INPUTS)
    pd.testing.assert_frame_equal(payload.frame, EXPECTED, check_dtype=False)
    assert payload.frame["age"].dtype == np.float64
    assert payload.frame["plan"].dtype == object
    assert payload.frame["active"].dtype == bool
    assert payload.ignored_columns == []


def test_a_dict_of_scalars_is_one_row_and_extras_are_reported():
    payload = parse_json_payload({"inputs": {"age": 30, "plan": "basic", "active": True, "note": "x"}}, INPUTS)
    assert len(payload.frame) == 1 and list(payload.frame.columns) == NAMES
    assert payload.ignored_columns == ["note"]


def test_a_one_input_model_takes_a_flat_list_of_instances():
    payload = parse_json_payload({"instances": [1.5, 2, None]}, [INPUTS[0]])
    assert payload.frame["age"].tolist()[:2] == [1.5, 2.0] and math.isnan(payload.frame["age"][2])


def test_missing_values_are_kept_for_the_model_to_impute():
    body = {"dataframe_records": [{"age": None, "plan": None, "active": None}, {"age": " ", "plan": "pro",
                                                                             "active": "true"}]}
    frame = parse_json_payload(body, INPUTS).frame
    assert frame["age"].isna().all()
    assert frame["plan"].tolist() == [None, "pro"]
    assert str(frame["active"].dtype) == "boolean" and frame["active"][1]


def test_numeric_text_bools_and_mixed_categories_are_cast():
    body = {"dataframe_records": [{"age": "41.5", "plan": 7, "active": 1}, {"age": True, "plan": "x", "active": "no"}]}
    frame = parse_json_payload(body, INPUTS).frame
    assert frame["age"].tolist() == [41.5, 1.0]
    assert frame["plan"].tolist() == ["7", "x"]
    assert frame["active"].tolist() == [True, False]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"dataframe_records": [{"age": 1, "active": True}]}, "plan", ["'plan'", "age, plan, active"]),
    ({"dataframe_records": [{"age": 1, "plna": "x", "active": True}]}, "plan", ["Did you mean 'plna'"]),
    ({"dataframe_records": [{"age": 1, "plan": "a", "active": 1}, {"age": "old", "plan": "b", "active": 1}]}, "age",
     ["numeric", "row 1", "'old'"]),
    ({"dataframe_records": [{"age": float("inf"), "plan": "a", "active": 1}]}, "age", ["infinite", "row 0"]),
    ({"dataframe_records": [{"age": "-inf", "plan": "a", "active": 1}]}, "age", ["infinite"]),
    ({"dataframe_records": [{"age": 1, "plan": ["a"], "active": 1}]}, "plan", ["single values"]),
    ({"dataframe_records": [{"age": 1, "plan": "a", "active": "maybe"}]}, "active", ["true or false", "'maybe'"]),
    ({"dataframe_records": []}, "dataframe_records", ["no rows"]),
    ({"instances": []}, "instances", ["no rows"]),
    ({"inputs": {}}, "inputs", ["no rows"]),
    ({"inputs": {"age": [1, 2], "plan": ["a"], "active": [1, 1]}}, "plan", ["differ in length"]),
    ({"inputs": {"age": 1, "plan": ["a"]}}, "age", ["must be a list"]),
    ({"dataframe_split": {"columns": ["age", "plan", "active"], "data": [[1, "a"]]}}, "dataframe_split.data",
     ["row 0 has 2 values", "3"]),
    ({"dataframe_split": {"columns": ["age", "age"], "data": [[1, 2]]}}, "columns", ["Duplicate", "age"]),
    ({"dataframe_split": [[1, 2]]}, "dataframe_split", ["'data'"]),
    ({"dataframe_split": {"columns": NAMES, "data": [[1, "a", 1]], "rows": 1}}, "dataframe_split", ["rows"]),
    ({"instances": [[1, "a", True], {"age": 1}]}, "instances", ["instances[1]"]),
    ({"instances": [1, 2]}, "instances", ["instances[0]"]),
    ({"dataframe_records": [[1, "a", True]]}, "dataframe_records", ["list of objects"]),
    ({"records": [{"age": 1}]}, "body", ["dataframe_split", "dataframe_records", "instances", "inputs", "records"]),
    ({"instances": [{"age": 1}], "inputs": [{"age": 1}]}, "body", ["exactly one"]),
    ([{"age": 1}], "body", ["list"]),
])
def test_bad_payloads_name_the_field(body, field, words):
    with pytest.raises(BadInputError) as info:
        parse_json_payload(body, INPUTS)
    assert info.value.field == field
    for word in words:
        assert word in str(info.value)


def test_too_many_rows_is_payload_too_large():
    with pytest.raises(PayloadTooLargeError) as info:
        parse_json_payload({"instances": [[1, "a", True]] * 11}, INPUTS, max_rows=10)
    assert info.value.http_status == 413 and "10" in str(info.value)
    with pytest.raises(PayloadTooLargeError):
        parse_body(b"age,plan,active\n" + b"1,a,true\n" * 11, "text/csv", INPUTS, max_rows=10)


def test_csv_bodies_keep_category_text_and_reject_bad_numbers():
    frame = parse_body(b"age,plan,active,extra\n30,007,true,1\n,pro,0,2\n", "text/csv; charset=utf-8", INPUTS).frame
    assert frame["plan"].tolist() == ["007", "pro"] and math.isnan(frame["age"][1])
    with pytest.raises(BadInputError, match="row 1 holds 'x'") as info:
        parse_body(b"age,plan,active\n1,a,true\nx,b,false\n", "text/csv", INPUTS)
    assert info.value.field == "age"
    with pytest.raises(BadInputError, match="CSV body is empty"):
        parse_body(b"", "text/csv", INPUTS)
    with pytest.raises(BadInputError, match="no rows"):
        parse_body(b"age,plan,active\n", "text/csv", INPUTS)


def test_json_decoding_accepts_python_nan_and_names_syntax_errors():
    assert math.isnan(decode_json(b'{"a": NaN}')["a"])
    assert decode_json(b'{"a": Infinity}')["a"] == math.inf
    for bad in (b"{bad", b"", b"   ", b"\xff\xfe"):
        with pytest.raises(InvalidJSONError) as info:
            decode_json(bad)
        assert info.value.http_status == 400 and info.value.field == "body"


def test_content_types():
    body = b'{"instances": [[1, "a", true]]}'
    assert len(parse_body(body, None, INPUTS).frame) == 1
    assert len(parse_body(body, "application/json; charset=utf-8", INPUTS).frame) == 1
    with pytest.raises(UnsupportedMediaTypeError) as info:
        parse_body(body, "application/x-www-form-urlencoded", INPUTS)
    assert info.value.http_status == 415 and "text/csv" in str(info.value)


def test_without_a_signature_the_frame_passes_through():
    frame = frame_from_json({"dataframe_records": [{"z": 1}]}, [])
    assert conform(frame, []).frame.equals(frame)


def test_feedback_shapes():
    assert parse_feedback({"id": "abc", "label": 1}) == {"abc": 1}
    assert parse_feedback({"labels": {"a": "yes", "b": False}}) == {"a": "yes", "b": False}
    for bad in ({"id": "a"}, {"id": 3, "label": 1}, {"labels": {}}, {"labels": {"a": None}}, {"labels": {"a": [1]}},
                {"labels": [["a", 1]]}, [], {"id": "a", "label": 1, "x": 2}):
        with pytest.raises(BadInputError):
            parse_feedback(bad)


def test_empty_params_are_accepted_and_real_ones_refused():
    body = {"instances": [[1, "a", True]]}
    assert len(parse_json_payload({**body, "params": {}}, INPUTS).frame) == 1
    with pytest.raises(BadInputError) as info:
        parse_json_payload({**body, "params": {"temperature": 1}}, INPUTS)
    assert info.value.field == "params"


def test_an_integer_beyond_float_range_is_refused_not_a_crash():
    with pytest.raises(BadInputError, match="out-of-range") as info:
        parse_body(b'{"instances": [[1' + b"0" * 400 + b', "a", true]]}', "application/json", INPUTS)
    assert info.value.field == "age"


def test_timestamps_are_parsed_and_checked():
    inputs = [{"name": "when", "dtype": "datetime64[ns]", "kind": "datetime"}]
    frame = parse_json_payload({"instances": ["2024-05-01T12:00:00", None]}, inputs).frame
    assert frame["when"][0] == pd.Timestamp("2024-05-01 12:00") and pd.isna(frame["when"][1])
    for bad in (["yesterday"], [12345], ["2024-01-01T00:00:00+02:00", "2024-01-01"]):
        with pytest.raises(BadInputError) as info:
            parse_json_payload({"instances": bad}, inputs)
        assert info.value.field == "when"
