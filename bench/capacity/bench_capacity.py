"""Measure the figures docs/scaling.md's capacity model is built from, in one run, and print one table.

    bash bench/run.sh capacity [--seconds 5] [--rows 50000] [--runs 100] [--processes 1,4] [--artifact-mib 64]
                               [--skip-serving] [--skip-postgres] [--skip-s3] [--json PATH]

1. Serving: one `conveyor serve` replica (1 worker, pinned to CPU 0; the load generator on CPU 1, concurrency 16)
   of bench/serving's LightGBM model: predictions/s and predictions per server CPU-second, 1-row and 32-row
   requests, prediction log on and off; the project's growth per prediction the served path logged.
2. Store growth: ``--rows`` prediction records of a 20-feature model logged through ``PredictionStore.log`` into
   the embedded SQLite store and into PostgreSQL (``conveyor.testing.postgres``, a throwaway cluster): bytes per
   row and GB per million.
3. Metadata store: runs/s (create, 3 params, 3 metrics, end) from 1 and N concurrent processes, SQLite and
   PostgreSQL.
4. Artifacts: a ``--artifact-mib`` MiB file put and read back on a local folder and on S3 (moto's server,
   ``conveyor.testing.s3``, on 127.0.0.1).

Everything it starts (servers, PostgreSQL, moto) is stopped before it exits; data goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT / "src"))

from store_capacity import artifact_throughput, runs_throughput, store_growth  # noqa: E402


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server at ``server_url``, dropped afterwards."""
    import sqlalchemy as sa

    name = f"capacity_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    processes = [int(p) for p in args.processes.split(",")]

    print("store growth, SQLite ...", file=sys.stderr)
    folder = root / "growth-sqlite"
    out["growth"] = {"sqlite": store_growth(f"sqlite:///{folder / 'metadata.sqlite'}", args.rows, folder=folder)}
    print("runs/s, SQLite ...", file=sys.stderr)
    out["runs"] = {"sqlite": [runs_throughput(f"sqlite:///{root / f'runs-{n}' / 'metadata.sqlite'}", n, args.runs)
                              for n in processes]}
    if not args.skip_postgres:
        from conveyor.testing.postgres import postgres_server

        with postgres_server() as server_url:
            print("store growth and runs/s, PostgreSQL ...", file=sys.stderr)
            with fresh_database(server_url) as url:
                out["growth"]["postgresql"] = store_growth(url, args.rows)
            out["runs"]["postgresql"] = []
            for n in processes:
                with fresh_database(server_url) as url:
                    out["runs"]["postgresql"].append(runs_throughput(url, n, args.runs))
    print("artifacts ...", file=sys.stderr)
    out["artifacts"] = {"local": artifact_throughput(str(root / "artifacts"), args.artifact_mib)}
    if not args.skip_s3:
        from conveyor.testing.s3 import s3_server

        with s3_server() as s3:
            out["artifacts"]["s3 (moto)"] = artifact_throughput(f"s3://{s3.bucket()}/artifacts", args.artifact_mib,
                                                                env=s3.env)
    if not args.skip_serving:
        from serve_capacity import serving_capacity

        print("serving ...", file=sys.stderr)
        out["serving"] = serving_capacity(root / "serving", seconds=args.seconds, concurrency=args.concurrency)
    return out


def table(out: dict[str, Any]) -> str:
    lines = ["| measure | engine | figure | CPU | detail |", "|---|---|---:|---:|---|"]
    serving = out.get("serving")
    if serving:
        for c in serving["cells"]:
            lines.append(f"| serving, {c['rows']}-row requests, log {'on' if c['log'] else 'off'} | 1 replica, "
                         f"1 worker, 1 core | {c['predictions_per_s']:,.0f} pred/s | "
                         f"{c['predictions_per_cpu_s']:,.0f} pred/CPU-s | concurrency {c['concurrency']}, "
                         f"p99 {c['p99_ms']:.1f} ms, {c['errors']} errors, {c['cpu_s']:.1f} CPU s / "
                         f"{c['wall_s']:.1f} s |")
        found = serving["rows_found"]
        lines.append(f"| store growth, served path | SQLite (project) | {serving['bytes_per_row']:,.0f} B/row | | "
                     f"{serving['bytes'] / 1e6:,.1f} MB for {serving['logged_predictions']:,} predictions "
                     f"answered{'' if found is None else f' ({found:,} rows stored)'} |")
    for engine, g in out["growth"].items():
        lines.append(f"| store growth, PredictionStore.log | {engine} | {g['bytes_per_row']:,.0f} B/row | "
                     f"{g['write_cpu_s']:.2f} s | {g['gb_per_million']:.2f} GB per million; {g['rows']:,} rows "
                     f"written at {g['rows_per_s']:,.0f} rows/s |")
    for engine, cells in out["runs"].items():
        for r in cells:
            lines.append(f"| runs (3 params, 3 metrics) | {engine}, {r['processes']} process"
                         f"{'es' if r['processes'] > 1 else ''} | {r['runs_per_s']:,.0f} runs/s | "
                         f"{r['cpu_s']:.2f} s | {r['runs']} runs in {r['wall_s']:.2f} s; "
                         f"{r['runs_per_cpu_s']:,.0f} runs per client CPU-s"
                         + ("" if r.get("server_cpu_s") is None else
                            f"; PostgreSQL server {r['server_cpu_s']:.2f} CPU s") + " |")
    for engine, a in out["artifacts"].items():
        lines.append(f"| artifact {a['mib']} MiB put / get | {engine} | {a['put_mb_s']:,.0f} / {a['get_mb_s']:,.0f}"
                     f" MB/s | {a['put_cpu_s']:.2f} / {a['get_cpu_s']:.2f} s | median of {a['repeats']}; "
                     f"{a['put_s']:.2f} s / {a['get_s']:.2f} s (BLAKE3 hash included) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="Duration of each serving cell.")
    parser.add_argument("--concurrency", type=int, default=16, help="Connections driving the replica.")
    parser.add_argument("--rows", type=int, default=50_000, help="Prediction records logged for store growth.")
    parser.add_argument("--runs", type=int, default=100, help="Runs each run-logging process logs.")
    parser.add_argument("--processes", default="1,4", help="Concurrent run-logging processes, comma-separated.")
    parser.add_argument("--artifact-mib", type=int, default=64)
    parser.add_argument("--skip-serving", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-s3", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="capacity-bench-", dir="/tmp"))
    try:
        out = measure(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(table(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
