"""`conveyor check`: what a user's CI runs on every change. The newest data against its contract, a candidate
trained on it (``--train``) or the newest registered version re-evaluated, the candidate's quality gates, the gates
of the environment it enters next (a dry run of the promotion's gates: nothing moves), and the candidate against the
production model (``@prod``, else ``@champion``) on the same holdout of the newest data; every check is a JUnit test
case (``--junit``) and a line of a Markdown summary (``--summary``, for ``$GITHUB_STEP_SUMMARY``). Exit 0 when every
check passed, 1 otherwise."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.refs import DatasetRef
from conveyor.project._options import promotion_policy, train_budget, train_options
from conveyor.registry.environments import PromotionPolicy, environment_gates

__all__ = ["CheckCase", "CheckReport", "run_checks"]


@dataclass
class CheckCase:
    """One check: ``status`` is passed, failed or skipped (nothing to check, with the reason)."""

    name: str
    group: str
    status: str
    detail: str


@dataclass
class CheckReport:
    model: str
    data: str | None
    baseline: str | None
    cases: list[CheckCase] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(case.status != "failed" for case in self.cases)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "model": self.model, "data": self.data, "baseline": self.baseline,
                "checks": [asdict(case) for case in self.cases]}

    def junit(self) -> str:
        """JUnit XML: one test suite, one test case per check (failures and skips as JUnit marks them)."""
        suite = ET.Element("testsuite", name="conveyor check", tests=str(len(self.cases)),
                           failures=str(sum(c.status == "failed" for c in self.cases)),
                           skipped=str(sum(c.status == "skipped" for c in self.cases)), errors="0")
        for case in self.cases:
            node = ET.SubElement(suite, "testcase", name=case.name, classname=f"conveyor.{case.group}")
            if case.status == "failed":
                ET.SubElement(node, "failure", message=case.detail).text = case.detail
            elif case.status == "skipped":
                ET.SubElement(node, "skipped", message=case.detail)
            ET.SubElement(node, "system-out").text = case.detail
        root = ET.Element("testsuites")
        root.append(suite)
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

    def markdown(self) -> str:
        mark = {"passed": "✅ pass", "failed": "❌ FAIL", "skipped": "⏭️ skipped"}
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"## conveyor check: {verdict}", "",
                 f"Candidate `{self.model}`" + (f" vs `{self.baseline}`" if self.baseline else "")
                 + (f" on `{self.data}`" if self.data else ""), "",
                 "| check | result | detail |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {mark[c.status]} | {html.escape(c.detail).replace('|', '&#124;')} |"
                  for c in self.cases]
        return "\n".join(lines) + "\n"


def _candidate(project: Any, model: str | None) -> Any:
    if model is not None:
        return project.models.get(model)
    names = project.stores.registry.names()
    name = project.config.retrain.model or (names[0] if len(names) == 1 else None)
    if name is None:
        if not names:
            raise NotFoundError("There is no model to check yet.", field="model",
                                hint="Train one (`conveyor train DATASET --target COLUMN`) first.")
        raise BadInputError(f"Which model? The project has {len(names)}: {', '.join(names)}.", field="model",
                            hint="Pass --model MODEL:N (or set retrain.model in conveyor.yaml).")
    return project.models.get(name)


def _train_candidate(project: Any, base: Any, data: Any) -> tuple[Any, CheckCase]:
    """A candidate of ``base``'s model trained on ``data`` (its target, metric and the train: settings), with the
    newest rows held out exactly as the comparison holds them out, so it is compared on rows it never saw."""
    from conveyor.pipeline.retrain import recent_holdout
    from conveyor.train.trainer import train  # deferred: the training stack

    config = project.config
    target = base.signature.get("target")
    frame = project.data.load_frame(data.ref)
    if not target or target not in frame.columns:
        raise BadInputError(f"{data.ref} has no label column {target!r} to train {base.name} on.", field="data",
                            hint="Ingest labelled data with the model's target column.")
    time_column = config.data.time_column
    train_part, holdout = recent_holdout(frame, config.retrain.holdout_fraction, time_column, 0)
    features = [c for c in frame.columns if c != time_column]
    result = train(project.stores, data, target, model_name=base.name, metric=base.meta.get("metric"),
                   budget_seconds=train_budget(project, retrain=True), max_trials=config.retrain.max_trials,
                   search=config.train.search, frame=train_part[features], holdout=holdout[features],
                   project_root=project.root, tags={"kind": "check"}, **train_options(project, executor=False))
    candidate = result.model_version
    return candidate, CheckCase("train.candidate", "train", "passed",
                                f"trained {candidate.ref} on {len(train_part)} rows of {data.ref} ({len(holdout)} "
                                f"newest rows held out), run {result.run.id}")


def _next_environment(project: Any, candidate: Any, policy: PromotionPolicy, env: str | None) -> str | None:
    """``env``, else the first environment whose history does not hold the candidate yet."""
    if env is not None:
        return policy.target(env)
    for name in policy.environments.names():
        held = {c.version for c in project.stores.registry.alias_history(candidate.name, name)}
        if candidate.version not in held:
            return name
    return None


def _environment_cases(project: Any, candidate: Any, policy: PromotionPolicy, env: str | None) -> list[CheckCase]:
    """The gates of the environment the candidate enters next, one case per rule (none configured: none)."""
    target = _next_environment(project, candidate, policy, env)
    if target is None or not policy.enabled:
        return []
    return [CheckCase(f"gates.{rule['rule']}", "environment", "passed" if rule["passed"] else "failed",
                      rule["detail"]) for rule in environment_gates(project.stores, candidate, target, policy)]


def _data_case(project: Any, data: Any) -> CheckCase:
    from conveyor.core.errors import ConveyorError

    path = project.data.contract_path(data.name)
    if not path.is_file():
        return CheckCase("data.contract", "data", "skipped",
                         f"{data.ref}: no contract at {path.name} (write one with `conveyor data contract "
                         f"{data.name}`)")
    try:
        report = project.data.validate(data.ref)
    except ConveyorError as exc:
        return CheckCase("data.contract", "data", "failed", f"{data.ref}: {exc.message}")
    detail = f"{data.ref} meets {path.name}: {report.summary()}" if report.passed else \
        f"{data.ref} breaks {path.name}: {report.summary()}"
    return CheckCase("data.contract", "data", "passed" if report.passed else "failed", detail)


def _gates_case(candidate: Any) -> CheckCase:
    gates = candidate.meta.get("gates") or {}
    if not gates:
        return CheckCase("model.gates", "model", "skipped", f"{candidate.ref}: no quality gates configured "
                                                            "(gates: in conveyor.yaml)")
    failed = [r for r in gates.get("rules", []) if not r.get("passed")]
    if failed:
        return CheckCase("model.gates", "model", "failed",
                         "; ".join(f"{r['rule']} ({r['detail']})" for r in failed))
    return CheckCase("model.gates", "model", "passed", f"{candidate.ref}: {len(gates.get('rules', []))} gate(s) "
                                                       "passed")


def _compare_case(project: Any, candidate: Any, baseline: Any, data: Any) -> CheckCase:
    from conveyor.evaluate.metrics import improvement
    from conveyor.pipeline.gate_measures import DataMeasures
    from conveyor.pipeline.retrain import recent_holdout

    metric = candidate.meta.get("metric") or next(iter(candidate.metrics), "")
    name = f"compare.{metric}"
    if baseline is None:
        return CheckCase(name, "compare", "skipped", "no production model yet: nothing to compare with")
    if baseline.ref == candidate.ref:
        return CheckCase(name, "compare", "skipped", f"{candidate.ref} is the production model")
    target = candidate.signature.get("target")
    frame = project.data.load_frame(data.ref)
    if not target or target not in frame.columns:
        return CheckCase(name, "compare", "failed", f"{data.ref} has no label column {target!r} to compare on")
    config = project.config
    _, holdout = recent_holdout(frame, config.retrain.holdout_fraction, config.data.time_column, 0)
    measures = DataMeasures(project.stores)  # scores as an environment's `beat: {on: newest}` gate does
    new, old = measures.score(candidate, holdout, metric), measures.score(baseline, holdout, metric)
    if new is None or old is None:
        return CheckCase(name, "compare", "failed", f"{metric} is undefined on the {len(holdout)} held-out rows")
    gain = improvement(metric, new, old)
    least = config.retrain.min_improvement
    detail = (f"{candidate.ref} {metric} {new:.4f} vs {baseline.ref} {old:.4f} on the same {len(holdout)} held-out "
              f"rows of {data.ref}: gain {gain:+.4f} (at least {least:+.4f} needed)")
    return CheckCase(name, "compare", "passed" if gain >= least else "failed", detail)


def run_checks(project: Any, *, model: str | None = None, data: str | None = None, train: bool = False,
               env: str | None = None) -> CheckReport:
    """Every check of `conveyor check` on ``project`` (a :class:`~conveyor.project.Project`). ``train``: train the
    candidate on the data first (when the data breaks its contract nothing is trained); ``env``: whose gates to
    run (default: the first environment the candidate has not been in)."""
    candidate = _candidate(project, model)
    if data is None and not candidate.dataset:
        raise BadInputError(f"{candidate.ref} records no training dataset.", field="data",
                            hint="Pass --data NAME@VERSION to check it on.")
    data_version = project.data.get(data or f"{DatasetRef.parse(candidate.dataset).name}@latest")
    policy = promotion_policy(project)
    production = policy.alias_for("champion")  # @prod with environments, else @champion
    baseline = project.stores.registry.aliases(candidate.name).get(production)
    baseline_version = project.stores.registry.get_version(candidate.name, baseline) if baseline else None
    cases = [_data_case(project, data_version)]
    if train:
        if cases[0].status == "failed":
            cases.append(CheckCase("train.candidate", "train", "skipped", f"{data_version.ref} breaks its contract: "
                                                                          "nothing was trained on it"))
            return _report(candidate, data_version, baseline_version, cases)
        candidate, trained = _train_candidate(project, candidate, data_version)
        cases.append(trained)
    cases += [_gates_case(candidate), *_environment_cases(project, candidate, policy, env),
              _compare_case(project, candidate, baseline_version, data_version)]
    return _report(candidate, data_version, baseline_version, cases)


def _report(candidate: Any, data: Any, baseline: Any, cases: list[CheckCase]) -> CheckReport:
    return CheckReport(candidate.ref, data.ref, baseline.ref if baseline else None, cases)


def write_outputs(report: CheckReport, junit: Path | None, summary: Path | None) -> None:
    if junit is not None:
        Path(junit).write_text(report.junit())
    if summary is not None:
        with Path(summary).open("a") as handle:  # $GITHUB_STEP_SUMMARY is appended to
            handle.write(report.markdown())
