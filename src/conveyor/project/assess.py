"""`conveyor assess`: the project's MLOps maturity on the 0-3 scale, from evidence found in the project folder and
its store. Level 1 is pipeline automation (versioned data with a contract, tracked runs, quality gates), level 2
CI/CD integration (a CI workflow running `conveyor check`, environments, a served model whose predictions are
logged), level 3 monitoring, automated retraining, rollback and governance (alert rules or monitoring samples, an
agent policy, a rollback exercised, a verified audit trail, access control on). The level is the highest whose
criteria (and those of every level below) all pass; the failing criteria of the next level say what to do."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from conveyor.core.errors import ConveyorError
from conveyor.project import _options

__all__ = ["Criterion", "Maturity", "assess"]

LEVELS = {0: "manual", 1: "pipeline automation", 2: "CI/CD integration",
          3: "monitoring, automated retraining, rollback and governance"}


@dataclass
class Criterion:
    id: str
    level: int
    passed: bool
    evidence: str
    fix: str


@dataclass
class Maturity:
    level: int
    criteria: list[Criterion]

    @property
    def next_steps(self) -> list[Criterion]:
        """What is missing for the next level (every failing criterion up to it)."""
        return [c for c in self.criteria if not c.passed and c.level <= self.level + 1]

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "name": LEVELS[self.level], "criteria": [asdict(c) for c in self.criteria],
                "next": [c.fix for c in self.next_steps]}

    def html(self) -> str:
        rows = "".join(f"<tr><td>{c.level}</td><td><code>{html.escape(c.id)}</code></td>"
                       f"<td>{'pass' if c.passed else 'FAIL'}</td><td>{html.escape(c.evidence)}</td>"
                       f"<td>{'' if c.passed else html.escape(c.fix)}</td></tr>" for c in self.criteria)
        steps = "".join(f"<li>{html.escape(c.fix)}</li>" for c in self.next_steps)
        return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>MLOps maturity</title></head>"
                f"<body><h1 id='level'>MLOps maturity: level {self.level} ({html.escape(LEVELS[self.level])})</h1>"
                "<table><thead><tr><th>level</th><th>criterion</th><th>result</th><th>evidence</th><th>to do</th>"
                f"</tr></thead><tbody>{rows}</tbody></table>"
                + (f"<h2>Next level</h2><ul id='next'>{steps}</ul>" if steps else "") + "</body></html>")


def _ci_workflow(root: Path) -> tuple[bool, str]:
    files = [*sorted((root / ".github" / "workflows").glob("*.y*ml")), root / ".gitlab-ci.yml"]
    for path in files:
        if path.is_file() and "conveyor check" in path.read_text(errors="replace"):
            return True, f"{path.relative_to(root)} runs `conveyor check`"
    return False, "no CI workflow runs `conveyor check`"


def _audit(project: Any) -> tuple[bool, str]:
    try:
        rows = project.models.verify()
    except ConveyorError as exc:
        return False, f"audit trail broken: {exc.message}"
    return rows > 0, f"{rows} audit rows, hash chain intact" if rows else "no audit rows yet"


def _checks(project: Any) -> list[tuple[str, int, Callable[[], tuple[bool, str]], str]]:
    stores, config, root = project.stores, project.config, Path(project.root)
    names = stores.registry.names()

    def data_versions() -> tuple[bool, str]:
        count = len(stores.datasets.versions())
        return count > 0, f"{count} dataset version(s)"

    def contracts() -> tuple[bool, str]:
        found = sorted(p.name for p in (root / "contracts").glob("*.yaml"))
        return bool(found), f"contracts: {', '.join(found)}" if found else "no contracts/*.yaml"

    def runs() -> tuple[bool, str]:
        count = len(stores.runs.search(limit=1))
        return count > 0, "tracked runs found" if count else "no tracked runs"

    def gates() -> tuple[bool, str]:
        rules = config.gates.rules()
        env_gates = [e for e in config.environments.names() if config.environments.get(e).gates.to_dict(
            drop_none=True) not in ({}, {"min": {}, "max": {}})]
        found = sorted(rules) + [f"environments.{e}.gates" for e in env_gates]
        return bool(found), f"gates: {', '.join(found)}" if found else "no gates configured"

    def environments() -> tuple[bool, str]:
        envs = config.environments.names()
        return bool(envs), f"environments: {' -> '.join(envs)}" if envs else "no environments"

    def served() -> tuple[bool, str]:
        logged = [n for n in names if stores.predictions.recent(n, limit=1)]
        return bool(logged), f"logged predictions of {', '.join(logged)}" if logged else "no logged predictions"

    def monitoring() -> tuple[bool, str]:
        rules = len(config.alerts.rules)
        sampled = bool(stores.monitoring.samples(limit=1))
        return rules > 0 or sampled, f"{rules} alert rule(s), monitoring samples {'found' if sampled else 'none'}"

    def agent() -> tuple[bool, str]:
        jobs = len(stores.leases.jobs())
        return bool(config.retrain.model) or jobs > 0, \
            f"retrain.model={config.retrain.model or '-'}, {jobs} agent job(s)"

    def rollbacks() -> tuple[bool, str]:
        done = [e for e in stores.registry.audit_log() if e.action == "rollback"]
        return bool(done), f"{len(done)} rollback(s) in the audit trail"

    def access() -> tuple[bool, str]:
        on = _options.authentication_on(project)  # the one switch (the users store decides)
        return on, "authentication on" if on else "no users: anyone with the store can promote"

    return [
        ("data.versions", 1, data_versions, "Ingest data as versions: `conveyor data ingest FILE --name NAME`."),
        ("data.contract", 1, contracts, "Write a data contract: `conveyor data contract NAME`."),
        ("runs.tracked", 1, runs, "Train through conveyor so runs are tracked: `conveyor train NAME --target Y`."),
        ("gates", 1, gates, "Add quality gates: `gates: {min: {roc_auc: 0.8}}` in conveyor.yaml."),
        ("ci.workflow", 2, lambda: _ci_workflow(root), "Generate the CI workflow: `conveyor ci github`."),
        ("environments", 2, environments, "Add environments: `conveyor init --environments`."),
        ("serve.logging", 2, served, "Serve a model with prediction logging: `conveyor serve MODEL --env prod`."),
        ("monitor.schedule", 3, monitoring, "Add alert rules (alerts.rules) and run `conveyor monitor` on a "
                                            "schedule."),
        ("agent.policy", 3, agent, "Set retrain.model and run `conveyor agent`."),
        ("rollback.exercised", 3, rollbacks, "Exercise a rollback: `conveyor models rollback MODEL --alias prod`."),
        ("audit.verified", 3, lambda: _audit(project), "Promote through the registry; `conveyor models audit` "
                                                       "verifies the trail."),
        ("access.control", 3, access, "Turn on authentication (create users) so approvals are enforced."),
    ]


def assess(project: Any) -> Maturity:
    criteria = []
    for ident, level, check, fix in _checks(project):
        passed, evidence = check()
        criteria.append(Criterion(ident, level, passed, evidence, fix))
    level = 0
    for candidate in (1, 2, 3):
        if all(c.passed for c in criteria if c.level <= candidate):
            level = candidate
        else:
            break
    return Maturity(level, criteria)
