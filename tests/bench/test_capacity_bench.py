"""The capacity benchmark's measurements run, small, and measure what they name (bench/capacity; the full run is
`bash bench/run.sh capacity`). Serving is left to the benchmark itself: it trains a model and starts servers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "capacity"


@pytest.fixture(scope="module")
def capacity():
    sys.path.insert(0, str(BENCH))
    try:
        import bench_capacity
        import store_capacity

        yield bench_capacity, store_capacity
    finally:
        sys.path.remove(str(BENCH))


def test_store_growth_counts_the_bytes_the_logged_rows_take(capacity, tmp_path: Path) -> None:
    _, store_capacity = capacity
    folder = tmp_path / "store"
    small = store_capacity.store_growth(f"sqlite:///{folder / 'metadata.sqlite'}", 300, folder=folder)
    # 20 floats of ~19 digits as JSON text alone are ~500 bytes a row; a broken size reading gives 0 or pages
    assert 300 < small["bytes_per_row"] < 5_000, small
    assert small["gb_per_million"] == pytest.approx(small["bytes_per_row"] / 1000)
    records = store_capacity.prediction_records(64)
    assert len({r.id for r in records}) == 64 and len({r.request_id for r in records}) == 2
    assert len(records[0].inputs) == store_capacity.FEATURES


def test_the_command_measures_runs_and_artifacts_and_writes_its_table_and_json(capacity, tmp_path: Path,
                                                                             capsys) -> None:
    bench_capacity, _ = capacity
    out = tmp_path / "capacity.json"
    bench_capacity.main(["--rows", "200", "--runs", "3", "--processes", "1", "--artifact-mib", "1", "--skip-serving",
                         "--skip-postgres", "--skip-s3", "--json", str(out)])
    result = json.loads(out.read_text())
    runs = result["runs"]["sqlite"][0]
    assert runs["processes"] == 1 and runs["runs"] == 3 and runs["runs_per_s"] > 0
    local = result["artifacts"]["local"]
    assert local["mib"] == 1 and local["put_mb_s"] > 0 and local["get_mb_s"] > 0
    printed = capsys.readouterr().out
    assert "| runs (3 params, 3 metrics) | sqlite, 1 process |" in printed
    assert "| artifact 1 MiB put / get | local |" in printed
    assert "| store growth, PredictionStore.log | sqlite |" in printed


def test_on_postgresql_the_growth_is_read_from_the_database_and_the_server_cpu_is_found(capacity,
                                                                                      postgres_db_url: str) -> None:
    _, store_capacity = capacity
    before = store_capacity.postgres_cpu(postgres_db_url)  # runs/s reports the server's CPU beside the clients'
    growth = store_capacity.store_growth(postgres_db_url, 300)
    after = store_capacity.postgres_cpu(postgres_db_url)
    assert 300 < growth["bytes_per_row"] < 5_000, growth
    assert before is not None and after is not None and after > before, (before, after)
