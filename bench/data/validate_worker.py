"""Validate one Parquet frame against a contract with one tool; print {"wall", "cpu", "passed", "checks"} as JSON.

    python validate_worker.py conveyor|pandera|gx FRAME.parquet CONTRACT.json

conveyor runs from conveyor's venv; pandera and Great Expectations from .bench/validation-venv. The checks are the
same for all three: per column not-null, a min..max range for numbers, a set of allowed values for categories,
uniqueness for the id column, and a row-count range for the table. Only the validation call is timed.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd


def conveyor_check(frame, contract):
    from conveyor.data.contracts import validate

    return lambda: validate(contract, frame).passed


def pandera_check(frame, contract):
    import pandera.pandas as pa

    columns = {}
    for name, spec in contract["columns"].items():
        checks = []
        if spec.get("min") is not None:
            checks.append(pa.Check.in_range(spec["min"], spec["max"]))
        if spec.get("allowed"):
            checks.append(pa.Check.isin(spec["allowed"]))
        columns[name] = pa.Column(nullable=spec["nullable"], unique=bool(spec.get("unique")), checks=checks)
    low, high = contract["rows"]["min"], contract["rows"]["max"]
    schema = pa.DataFrameSchema(columns, checks=[pa.Check(lambda df: low <= len(df) <= high)])

    def run():
        try:
            schema.validate(frame, lazy=True, inplace=True)
            return True
        except pa.errors.SchemaErrors:
            return False

    return run


def gx_check(frame, contract):
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    batch_definition = (context.data_sources.add_pandas("bench").add_dataframe_asset("frame")
                        .add_batch_definition_whole_dataframe("all"))
    suite = context.suites.add(gx.ExpectationSuite(name="contract"))
    E = gx.expectations
    for name, spec in contract["columns"].items():
        if not spec["nullable"]:
            suite.add_expectation(E.ExpectColumnValuesToNotBeNull(column=name))
        if spec.get("min") is not None:
            suite.add_expectation(E.ExpectColumnValuesToBeBetween(column=name, min_value=spec["min"],
                                                                  max_value=spec["max"]))
        if spec.get("allowed"):
            suite.add_expectation(E.ExpectColumnValuesToBeInSet(column=name, value_set=spec["allowed"]))
        if spec.get("unique"):
            suite.add_expectation(E.ExpectColumnValuesToBeUnique(column=name))
    suite.add_expectation(E.ExpectTableRowCountToBeBetween(min_value=contract["rows"]["min"],
                                                           max_value=contract["rows"]["max"]))

    def run():
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return bool(batch.validate(suite).success)

    return run


def main() -> None:
    tool, frame_path, contract_path = sys.argv[1:4]
    frame = pd.read_parquet(frame_path)
    with open(contract_path) as handle:
        contract = json.load(handle)
    check = {"conveyor": conveyor_check, "pandera": pandera_check, "gx": gx_check}[tool](frame, contract)
    walls, cpus, passed = [], [], None
    for _ in range(int(sys.argv[4]) if len(sys.argv) > 4 else 3):
        wall, cpu = time.perf_counter(), time.process_time()
        passed = check()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    walls.sort()
    cpus.sort()
    print(json.dumps({"wall": walls[len(walls) // 2], "cpu": cpus[len(cpus) // 2], "passed": passed}))


if __name__ == "__main__":
    main()
