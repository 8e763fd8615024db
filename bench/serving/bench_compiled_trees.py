"""In-process cost of one small-batch predict on bench_serving's model: LightGBM's ``Booster.predict`` (one thread)
against the compiled tree walk (:mod:`conveyor.registry.flavors.compiled_trees`), thread CPU microseconds, medians.

    python bench/serving/bench_compiled_trees.py [--repeats 3000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_serving import train

from conveyor.registry.flavors.lightgbm import LightGBMNative


def median_us(call, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.thread_time_ns()
        call()
        samples.append((time.thread_time_ns() - started) / 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        booster, X = train(Path(tmp))
    native = LightGBMNative(booster)
    started = time.perf_counter()
    runtime = native.compile_for_serving()
    load_s = time.perf_counter() - started
    assert runtime == "compiled-trees", runtime
    print(f"compile + check at load: {load_s:.2f} s wall; check max |difference| {native.compiled.max_difference:.3g}")
    print("rows  lightgbm_us  compiled_us  ratio")
    for rows in (1, 32, 64):
        matrix = X.head(rows).to_numpy()
        lightgbm_us = median_us(lambda m=matrix: booster.predict(m, num_threads=1), args.repeats)
        compiled_us = median_us(lambda m=matrix: native.raw(m), args.repeats)
        print(f"{rows:>4}  {lightgbm_us:>11.1f}  {compiled_us:>11.1f}  {lightgbm_us / compiled_us:>5.2f}x")


if __name__ == "__main__":
    main()
