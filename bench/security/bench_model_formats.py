"""What safe model formats cost: a scikit-learn pipeline saved and loaded with skops (under conveyor's allow-list)
against plain pickle, and a token check. Prints a table of medians (CPU ms; the machine is shared).

    bash bench/run.sh security [--repeats 5]
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from conveyor.features.preprocess import build_preprocessor
from conveyor.registry.flavors import get_flavor
from conveyor.security import add_identity, authenticate
from conveyor.store import Stores


def cpu_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(1000 * (time.process_time() - start))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    flavor = get_flavor("sklearn")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.choice(["x", "y", "z"], 2000)})
    labels = (frame.a > 0).astype(int)
    print(f"{'model':<12}{'format':<8}{'bytes':>10}{'dump CPU ms':>14}{'load CPU ms':>14}")
    for name, estimator in [("logistic", LogisticRegression()),
                            ("lgbm-100", lgb.LGBMClassifier(n_estimators=100, verbose=-1))]:
        model = Pipeline([("pre", build_preprocessor(frame, scale=True)), ("m", estimator)]).fit(frame, labels)
        for kind, dump, load in [("pickle", lambda m: pickle.dumps(m, protocol=5), pickle.loads),
                                 ("skops", flavor.dump, flavor.load)]:
            data = dump(model)
            dumping = cpu_ms(lambda d=dump, m=model: d(m), args.repeats)
            loading = cpu_ms(lambda ld=load, b=data: ld(b), args.repeats)
            print(f"{name:<12}{kind:<8}{len(data):>10}{dumping:>14.1f}{loading:>14.1f}")
    with tempfile.TemporaryDirectory() as folder:
        stores = Stores.open(f"sqlite:///{Path(folder) / 'meta.db'}", str(Path(folder) / "artifacts"))
        token = add_identity(stores, "ana", "admin", actor="bench").secret
        print(f"authenticate (SQLite, one token): {cpu_ms(lambda: authenticate(stores, token), 50 * args.repeats):.2f}"
              " CPU ms")
        stores.close()


if __name__ == "__main__":
    main()
