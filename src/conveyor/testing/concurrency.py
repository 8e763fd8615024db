"""A mixed concurrent load on one metadata store, from several OS processes at once, and the invariants it must keep.

``run_mixed_load(url)`` starts, all released together by one barrier: ``loggers`` processes logging runs (params,
metrics, end), each also adding the same shared dataset versions and registering model versions with an audit row;
``agents`` processes taking the same leased jobs (fresh ones, and stale ones a dead agent left) and finishing them;
one process promoting (moving ``champion`` to the newest version, audited); one serving-style process logging
prediction batches. Each does a fixed number of operations; the whole load must end within ``time_cap`` seconds.
``check_invariants(roles, load)`` then reads the store back and raises AssertionError naming the first broken one:
no lost writes, no duplicate version numbers, one creator per dataset version, each lease held by one agent at a
time, and an intact audit chain. tests/store/test_postgres_concurrency.py runs it on a real PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.entities import AuditNote, DatasetVersion, Metric, ModelVersion, PredictionRecord, Run, new_id
from conveyor.store import open_metadata_roles
from conveyor.store.roles import MetadataRoles

__all__ = ["Load", "check_invariants", "run_mixed_load"]

MODEL = "concurrent"
DATASET = "shared"
STALE_HOLDER = "agent-that-died"
METRICS_PER_RUN = 3
BATCH = 32


@dataclass
class Load:
    """What the processes say they did (the invariants compare it with what the store holds)."""

    ops: int
    loggers: int
    agents: int
    jobs: list[str]
    stale_jobs: list[str]
    runs: list[str] = field(default_factory=list)
    dataset_created: list[str] = field(default_factory=list)  # versions a logger was told it created
    model_versions: list[int] = field(default_factory=list)  # numbers create_version handed out
    claims: list[tuple[str, str]] = field(default_factory=list)  # (job, agent) for every claim that succeeded
    promotions: int = 0
    predictions: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the whole load, process start-up included
    busy_seconds: float = 0.0  # from the barrier to the last process done


def _logger(roles: MetadataRoles, me: int, ops: int, out: dict[str, Any]) -> None:
    out.update(runs=[], dataset_created=[], model_versions=[])
    for i in range(ops):
        run = roles.runs.create(Run(new_id(), f"logger-{me}-{i}"))
        roles.runs.log_params(run.id, {"process": me, "i": i})
        roles.runs.log_metrics(run.id, [Metric("loss", 1.0 / (step + 1), step) for step in range(METRICS_PER_RUN)])
        roles.runs.end(run.id, "finished")
        out["runs"].append(run.id)
        # every logger adds the same versions: exactly one of them may be told it created each
        version = f"{i:064x}"
        _, created = roles.datasets.add_version(DatasetVersion(
            DATASET, version, artifact="a" * 64, rows=1, columns=[], profile={}, source=f"logger-{me}"))
        if created:
            out["dataset_created"].append(version)
        if i % 3 == 0:
            mv = roles.registry.create_version(
                ModelVersion(MODEL, 0, artifact="b" * 64, flavor="sklearn", run_id=run.id, dataset=None,
                             signature={"task": "binary"}),
                audit=AuditNote(f"logger-{me}", "model.register"))
            out["model_versions"].append(mv.version)


def _agent(roles: MetadataRoles, me: int, jobs: list[str], ops: int, out: dict[str, Any]) -> None:
    holder = f"agent-{me}"
    out["claims"] = []
    for _ in range(ops):
        for key in jobs:
            job = roles.leases.claim(key, holder, lease_seconds=300)
            if job is None:
                continue
            out["claims"].append((key, holder))
            # only the holder may finish it; a second agent's update must not land
            assert roles.leases.update(key, status="done", result={"by": holder}, holder=holder), (key, holder)


def _promoter(roles: MetadataRoles, ops: int, out: dict[str, Any], deadline: float) -> None:
    moves = 0
    while moves < ops and time.monotonic() < deadline:
        versions = roles.registry.versions(MODEL)
        if not versions:
            time.sleep(0.01)
            continue
        roles.registry.set_alias(MODEL, "champion", versions[-1].version, audit=AuditNote("server", "model.promote"))
        moves += 1
    out["promotions"] = moves


def _server(roles: MetadataRoles, ops: int, out: dict[str, Any]) -> None:
    out["predictions"] = []
    for _ in range(ops):
        batch = [PredictionRecord(new_id(), f"{MODEL}:1", inputs={"x": float(i)}, outputs={"y": i % 2})
                 for i in range(BATCH)]
        roles.predictions.log(batch)
        out["predictions"].extend(r.id for r in batch)


def _worker(kind: str, me: int, url: str, ops: int, jobs: list[str], barrier: Any, results: Any,
            time_cap: float) -> None:
    out: dict[str, Any] = {}
    try:
        roles = open_metadata_roles(url)
        try:
            barrier.wait(timeout=time_cap)
            began = time.monotonic()
            if kind == "logger":
                _logger(roles, me, ops, out)
            elif kind == "agent":
                _agent(roles, me, jobs, ops, out)
            elif kind == "promoter":
                _promoter(roles, ops, out, time.monotonic() + time_cap)
            else:
                _server(roles, ops, out)
            out["seconds"] = time.monotonic() - began
        finally:
            roles.close()
        results.put((kind, me, out, None))
    except BaseException:  # reported to the parent, which fails with it
        results.put((kind, me, out, traceback.format_exc()))


def run_mixed_load(url: str, *, loggers: int = 4, agents: int = 2, ops: int = 30, jobs: int = 8,
                   time_cap: float = 120.0) -> Load:
    """Run the load on the metadata store at ``url`` (its schema already there) and return what was done; raise
    AssertionError when a process failed or the load did not end within ``time_cap`` seconds."""
    keys = [f"job-{i}" for i in range(jobs)]
    stale = [f"stale-{i}" for i in range(jobs // 2)]
    roles = open_metadata_roles(url)
    try:
        for key in stale:  # left "running" by an agent that died long ago: its lease ran out
            assert roles.leases.claim(key, STALE_HOLDER, lease_seconds=300, at=time.time() - 3600) is not None
    finally:
        roles.close()
    load = Load(ops, loggers, agents, keys, stale)
    ctx = multiprocessing.get_context("spawn")
    workers = [("logger", i) for i in range(loggers)] + [("agent", i) for i in range(agents)]
    workers += [("promoter", 0), ("server", 0)]
    barrier = ctx.Barrier(len(workers))
    results = ctx.Queue()
    processes = [ctx.Process(target=_worker, args=(kind, me, url, ops, keys + stale, barrier, results, time_cap),
                             daemon=True) for kind, me in workers]
    started = time.monotonic()
    for process in processes:
        process.start()
    try:
        outcomes: list[tuple[str, int, dict[str, Any], str | None]] = []
        deadline = started + time_cap
        while len(outcomes) < len(processes):
            try:
                outcomes.append(results.get(timeout=1.0))
                continue
            except queue.Empty:
                pass
            crashed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if crashed or time.monotonic() > deadline:
                raise AssertionError(f"the load did not end within {time_cap:.0f} s ({len(outcomes)} of "
                                     f"{len(processes)} processes reported; exit codes of crashed ones: {crashed})")
        load.seconds = time.monotonic() - started
    finally:
        for process in processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
    failures = [f"{kind} {me}:\n{error}" for kind, me, _out, error in outcomes if error]
    assert not failures, "\n".join(failures)
    for _kind, _me, out, _error in outcomes:
        load.runs += out.get("runs", [])
        load.dataset_created += out.get("dataset_created", [])
        load.model_versions += out.get("model_versions", [])
        load.claims += out.get("claims", [])
        load.promotions += out.get("promotions", 0)
        load.predictions += out.get("predictions", [])
        load.busy_seconds = max(load.busy_seconds, out.get("seconds", 0.0))
    return load


def check_invariants(roles: MetadataRoles, load: Load) -> None:
    """Read the store back after ``load``; AssertionError names the first invariant that does not hold."""
    # runs: every one is there, finished, with every metric step (no lost writes)
    assert len(load.runs) == load.loggers * load.ops == len(set(load.runs)), "runs were lost or doubled"
    for run_id in load.runs:
        run = roles.runs.get(run_id)
        assert run.status == "finished" and "process" in run.params, f"run {run_id} lost a write: {run}"
        history = roles.runs.metric_history(run_id, "loss")
        assert [m.step for m in history] == list(range(METRICS_PER_RUN)), f"run {run_id} lost metric steps"
    # dataset versions: each shared version was created by exactly one logger, and told so only once
    created = Counter(load.dataset_created)
    assert set(created) == {f"{i:064x}" for i in range(load.ops)}, "a shared dataset version has no creator"
    assert max(created.values()) == 1, f"versions reported created twice: {[v for v, n in created.items() if n > 1]}"
    assert len(roles.datasets.versions(DATASET)) == load.ops
    # model versions: numbered 1..n without a gap or a repeat, each handed out once
    stored = [mv.version for mv in roles.registry.versions(MODEL)]
    assert sorted(load.model_versions) == stored == list(range(1, len(stored) + 1)), \
        f"duplicate or missing model version numbers: handed out {sorted(load.model_versions)}, stored {stored}"
    # leases: each job taken once (the lease never ran out), each stale one taken over once, all finished by
    # the agent that held them
    claimed = Counter(key for key, _ in load.claims)
    assert claimed == Counter(load.jobs + load.stale_jobs), f"jobs claimed other than once each: {claimed}"
    holders = dict(load.claims)
    for key in load.jobs + load.stale_jobs:
        job = roles.leases.get(key)
        assert job is not None and job.status == "done" and job.holder == holders[key], f"job {key}: {job}"
        assert job.result == {"by": holders[key]}, f"job {key} was finished by another agent: {job.result}"
        assert job.attempts == (2 if key in load.stale_jobs else 1), f"job {key} taken {job.attempts} times"
    # alias moves: one history row and one audit row per promotion
    assert load.promotions == load.ops, f"the promoter moved the alias {load.promotions} times, not {load.ops}"
    assert len(roles.registry.alias_history(MODEL, "champion")) == load.promotions
    # predictions: every row of every batch
    logged = roles.predictions.recent(MODEL, None)
    assert sorted(r.id for r in logged) == sorted(load.predictions), "prediction rows were lost or doubled"
    # the audit chain: intact, one row per registration and per promotion, numbered without gaps
    assert roles.registry.verify_audit() == len(load.model_versions) + load.promotions, "audit rows were lost"
    actions = Counter(entry.action for entry in roles.registry.audit_log())
    assert actions == Counter({"model.register": len(load.model_versions), "model.promote": load.promotions})
