"""Data layer against its anchors, on one machine in one run: versioning vs `dvc add`, validation vs pandera and
Great Expectations, and `conveyor --version` start-up. Usually started through ``bash bench/run.sh data``, which
creates the anchors' venvs under .bench/ first.

    .venv/bin/python bench/data/bench_data.py [--gb 1.0] [--files 10000] [--rows 1000000] [--markdown PATH]

Every command runs as a subprocess; wall seconds, CPU seconds (user + system of that child) and peak RSS come
from os.wait4. Data lives under /tmp/data-bench (removed at the end unless --keep).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORK = Path("/tmp/data-bench")
DVC = ROOT / ".bench" / "dvc-venv" / "bin" / "dvc"
ANCHOR_PYTHON = ROOT / ".bench" / "validation-venv" / "bin" / "python"
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "DVC_NO_ANALYTICS": "1", "CONVEYOR_USER": "bench"}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode compiled: so do the runs here
SETTLED = 3.5
"""Seconds to wait after writing the data: `data add` trusts a cached digest only for a file that had settled (not
changed for 3 s) when it was hashed (conveyor.data.hash_cache); data a user re-adds was usually written long ago."""


def measured(argv: list[str], cwd: Path) -> dict[str, float]:
    """Wall and CPU seconds and peak RSS (MB) of one command, from the child's own rusage (wait4). Dirty pages
    are flushed first, so no command pays for writing back what the one before it left in the page cache."""
    os.sync()
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({status}):\n{child.stderr.read().decode()[-3000:]}")
    child.stderr.close()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def read_once(paths: list[Path]) -> dict[str, float]:
    """The floor: read every byte once (8 MB reads), in a child process like the tools."""
    listing = WORK / "paths.txt"
    listing.write_text("\n".join(map(str, paths)))
    reader = ("import sys\nfor p in open(sys.argv[1]).read().split('\\n'):\n    with open(p, 'rb', buffering=0) as h:"
              "\n        while h.read(8 << 20):\n            pass\n")
    return measured([sys.executable, "-c", reader, str(listing)], WORK)


IN_PROCESS_READD = """
import json, sys, time
from conveyor.core.settings import Settings
from conveyor.data.files import add_files
from conveyor.store import Stores
settings = Settings.for_project(__import__("pathlib").Path(sys.argv[1]))
stores = Stores.open(settings.db_url, settings.artifacts_url)
wall, cpu = time.perf_counter(), time.process_time()
version, created = add_files(stores, sys.argv[2], sys.argv[3])
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "created": created}))
"""


def add_in_process(project: Path, target: Path, name: str, *, created: bool) -> dict[str, float]:
    """An add without interpreter start-up and imports: what hashing and storing themselves cost."""
    os.sync()
    done = subprocess.run([sys.executable, "-c", IN_PROCESS_READD, str(project), str(target), name],
                          capture_output=True, text=True, env=ENV, check=True)
    result = json.loads(done.stdout)
    assert result["created"] is created
    return result


def make_csv(path: Path, gigabytes: float) -> None:
    rng = np.random.default_rng(0)
    target = int(gigabytes * 1e9)
    with pacsv.CSVWriter(path, pa.schema([("id", pa.int64()), *[(f"x{i}", pa.float64()) for i in range(8)],
                                          ("city", pa.string()), ("n", pa.int64())])) as writer:
        start = 0
        while path.stat().st_size < target:
            n = 500_000
            table = pa.table({"id": np.arange(start, start + n), **{f"x{i}": rng.normal(size=n).round(5)
                                                                     for i in range(8)},
                              "city": rng.choice(["berlin", "paris", "rome", "oslo"], n),
                              "n": rng.integers(0, 1000, n)})
            writer.write_table(table)
            start += n


def make_folder(path: Path, count: int) -> None:
    rng = np.random.default_rng(1)
    for i in range(count):
        folder = path / f"part{i % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i:05d}.bin").write_bytes(rng.bytes(int(rng.integers(512, 8192))))


def versioning(gigabytes: float, files: int, ingest: bool = True) -> dict:
    data = WORK / "repo"
    data.mkdir(parents=True)
    big, folder = data / "big.csv", data / "folder"
    make_csv(big, gigabytes)
    make_folder(folder, files)
    time.sleep(SETTLED)
    conveyor = [sys.executable, "-m", "conveyor"]
    project = WORK / "project"
    api_project = WORK / "project-in-process"
    for root in (project, api_project):
        subprocess.run([*conveyor, "init", str(root)], check=True, env=ENV, capture_output=True)
    subprocess.run([str(DVC), "init", "--no-scm", "-q"], check=True, cwd=data, env=ENV)
    subprocess.run([str(DVC), "config", "core.analytics", "false"], check=True, cwd=data, env=ENV)
    results = {}
    for case, target in ((f"{gigabytes:g} GB CSV file", big), (f"{files:,}-file folder", folder)):
        paths = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
        read_once(paths)  # warm the page cache for everyone alike
        row = {"bytes": sum(p.stat().st_size for p in paths), "read": read_once(paths)}
        name = "big" if target.is_file() else "folder"
        row["conveyor_first"] = measured([*conveyor, "data", "add", str(target), "--name", name,
                                          "--project", str(project)], project)
        row["conveyor_again"] = measured([*conveyor, "data", "add", str(target), "--name", name,
                                          "--project", str(project)], project)
        row["conveyor_again_api"] = add_in_process(project, target, name, created=False)
        row["conveyor_first_api"] = add_in_process(api_project, target, name, created=True)
        row["dvc_first"] = measured([str(DVC), "add", "-q", target.name], data)
        row["dvc_again"] = measured([str(DVC), "add", "-q", target.name], data)
        results[case] = row
    if not ingest:
        return results
    # the parsed route: a 1 GB CSV streamed into a profiled Parquet version (peak memory is the figure)
    results["ingest"] = {
        "first": measured([*conveyor, "data", "ingest", str(big), "--name", "table", "--project", str(project)],
                          project),
        "again": measured([*conveyor, "data", "ingest", str(big), "--name", "table", "--project", str(project)],
                          project),
    }
    return results


def startup(repeats: int = 7) -> dict[str, float]:
    runs = [measured([sys.executable, "-m", "conveyor", "--version"], WORK) for _ in range(repeats)]
    return {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu")}


def validation(rows: int) -> dict:
    rng = np.random.default_rng(2)
    columns = {"id": np.arange(rows)}
    columns |= {f"f{i}": rng.normal(size=rows) for i in range(12)}
    columns |= {f"i{i}": rng.integers(0, 100, rows) for i in range(3)}
    columns |= {f"c{i}": rng.choice(["a", "b", "c", "d", "e"], rows) for i in range(4)}
    frame = pd.DataFrame(columns)
    frame_path = WORK / "frame.parquet"
    frame.to_parquet(frame_path)
    from conveyor.data.contracts import infer_contract
    from conveyor.data.datasets import ingest_frame
    from conveyor.store import Stores

    version, _ = ingest_frame(Stores.in_memory(), frame, "bench")
    contract = infer_contract(version, row_bounds=True)  # the row-count check too, for every tool
    contract_path = WORK / "contract.json"
    contract_path.write_text(json.dumps(contract))
    results = {"checks": sum(1 + ("min" in s) + ("allowed" in s) + bool(s.get("unique"))
                             for s in contract["columns"].values()) + 1}
    for tool, python in (("conveyor", sys.executable), ("pandera", ANCHOR_PYTHON), ("gx", ANCHOR_PYTHON)):
        done = subprocess.run([str(python), str(HERE / "validate_worker.py"), tool, str(frame_path),
                               str(contract_path), "5"], capture_output=True, text=True, env=ENV, cwd=WORK)
        if done.returncode != 0:
            raise SystemExit(f"{tool} validation failed:\n{done.stderr[-3000:]}")
        results[tool] = json.loads(done.stdout.strip().splitlines()[-1])
        if not results[tool]["passed"]:
            raise SystemExit(f"{tool} rejected the frame its contract was inferred from")
    return results


def markdown(v: dict, s: dict, val: dict | None, args) -> str:
    lines = ["| case | read bytes once | conveyor first add (CLI) | same, in process | DVC first add | "
             "DVC / conveyor (CLI; in process, wall) | conveyor no-change re-add (CLI) | same, in process | "
             "DVC no-change re-add | conveyor re-add / read (CLI; in process) |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def cell(m):
        return f"{m['wall']:.2f} s ({m['cpu']:.2f} CPU)"

    for case in (k for k in v if k != "ingest"):
        row = v[case]
        first, dvc = row["conveyor_first"], row["dvc_first"]
        api = row["conveyor_first_api"]
        lines.append(f"| {case} ({row['bytes'] / 1e6:,.0f} MB) | {cell(row['read'])} | {cell(first)} | {cell(api)} | "
                     f"{cell(dvc)} | {dvc['wall'] / first['wall']:.1f}x ({dvc['cpu'] / first['cpu']:.1f}x CPU); "
                     f"{dvc['wall'] / api['wall']:.1f}x | "
                     f"{cell(row['conveyor_again'])} | {cell(row['conveyor_again_api'])} | {cell(row['dvc_again'])} | "
                     f"{row['conveyor_again']['wall'] / row['read']['wall']:.1f}x; "
                     f"{row['conveyor_again_api']['wall'] / row['read']['wall']:.1f}x |")
    ingest = v.get("ingest")
    if ingest is None:
        lines += ["", f"`conveyor --version`: {s['wall']:.3f} s wall, {s['cpu']:.3f} s CPU (median of 7)."]
        return "\n".join(lines) + "\n"
    lines += ["", "| parsed ingest of the same CSV (`conveyor data ingest`) | wall | CPU | peak RSS |",
              "|---|---|---|---|",
              f"| first (stream, Parquet, profile) | {ingest['first']['wall']:.2f} s | "
              f"{ingest['first']['cpu']:.2f} s | {ingest['first']['rss_mb']:,.0f} MB |",
              f"| unchanged file again | {ingest['again']['wall']:.2f} s | {ingest['again']['cpu']:.2f} s | "
              f"{ingest['again']['rss_mb']:,.0f} MB |",
              "", f"`conveyor --version`: {s['wall']:.3f} s wall, {s['cpu']:.3f} s CPU (median of 7; goal < 0.3 s)."]
    if val is None:
        return "\n".join(lines) + "\n"
    lines += ["", f"| validation of {args.rows:,} rows x 20 columns, {val['checks']} checks | wall | CPU | "
                  "tool / conveyor (wall) |", "|---|---|---|---|"]
    for tool, label in (("conveyor", "conveyor (`data validate`)"), ("pandera", "pandera"),
                        ("gx", "Great Expectations")):
        lines.append(f"| {label} | {val[tool]['wall']:.2f} s | {val[tool]['cpu']:.2f} s | "
                     f"{val[tool]['wall'] / val['conveyor']['wall']:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=1.0, help="size of the CSV file")
    parser.add_argument("--files", type=int, default=10_000, help="files in the folder")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the validation frame")
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    parser.add_argument("--skip-validation", action="store_true", help="versioning and start-up only")
    parser.add_argument("--skip-ingest", action="store_true", help="no parsed ingest of the CSV (and no validation)")
    parser.add_argument("--keep", action="store_true", help="keep /tmp/data-bench")
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    try:
        results = versioning(args.gb, args.files, ingest=not args.skip_ingest)
        start = startup()
        checks = None if args.skip_validation or args.skip_ingest else validation(args.rows)
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    text = markdown(results, start, checks, args)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
