"""The trainer's, the retraining policy's and the drift checks' keyword arguments, assembled once from the typed
configuration: `conveyor train`, `conveyor retrain`, `conveyor monitor` and the agent all read them here, so they
cannot disagree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.core.refs import check_name
from conveyor.project._base import ProjectState as Project

if TYPE_CHECKING:  # the registry, the executors and the drift tests load pandas/pyarrow: imported where used, so
    # a reader of one setting (the server's alert pass, /training/options) does not pay for them
    from conveyor.pipeline.agent import Agent
    from conveyor.registry.environments import PromotionPolicy
    from conveyor.stats import DriftPolicy


def train_options(project: Project, *, executor: bool = True) -> dict[str, Any]:
    """The train:, data: and gates: sections as the trainer's keyword arguments. With ``executor`` an executor of
    the configured kind is made (the caller shuts it down); without it trials run inline (a retrain is one short
    search, and the agent holds its options longer than an executor should live)."""
    config = project.config
    train, gates = config.train, config.gates
    options: dict[str, Any] = {
        "families": train.families,
        "feature_selection": train.feature_selection.to_dict() if train.feature_selection else None,
        "folds": train.folds,
        "ensemble": train.ensemble,
        "storage": train.study_storage,
        "sensitive": list(config.data.sensitive),
        "slice_column": train.slice,
        "gates": gates.rules() or None,
        "intended_use": train.intended_use,
        "evaluate": train.evaluate,
        "device": train.device,
    }
    if executor:
        from conveyor.execution import get_executor

        kind = project.settings.executor
        options["workers"] = train.workers
        options["executor"] = None if kind == "inline" else get_executor(
            kind, train.workers, num_cpus=train.trial_cpus, num_gpus=train.trial_gpus)
    return options


def train_budget(project: Project, budget: str | float | None = None, *, retrain: bool = False) -> float:
    """Seconds of a search: ``budget`` when given, else retrain.budget (for a retrain), else train.budget."""
    if budget is not None:
        from conveyor.train.budget import parse_budget

        return parse_budget(budget)
    config = project.config
    if retrain and config.retrain.budget is not None:
        return config.retrain.budget
    return config.train.budget


def retrain_options(project: Project, *, budget: str | float | None = None,
                    max_trials: int | None = None) -> dict[str, Any]:
    """Keyword arguments of :func:`conveyor.pipeline.retrain.retrain` for `conveyor retrain` and the agent (the
    alias, :func:`retrain_alias`, and the promotion into it are passed by each)."""
    config = project.config
    return {
        "candidate_alias": None if config.environments.enabled else "challenger",
        "budget_seconds": train_budget(project, budget, retrain=True),
        "max_trials": max_trials if max_trials is not None else config.retrain.max_trials,
        "search": config.train.search,
        "min_improvement": config.retrain.min_improvement,
        "holdout_fraction": config.retrain.holdout_fraction,
        "time_column": config.data.time_column,
        "project_root": project.root,
        "train_options": train_options(project, executor=False),
        "drift_policy": drift_policy(project),
    }


def drift_policy(project: Project) -> DriftPolicy:
    """How every verb judges drift (`conveyor monitor`, `data diff`, `retrain`, the agent): the monitor: section's
    tests and thresholds, so the same window gets the same verdict from each."""
    from conveyor.stats import DriftPolicy

    return DriftPolicy(**project.config.monitor.drift_policy())


def authentication_on(project: Project) -> bool:
    """Is authentication on (users exist)? Approvals are enforced only then; with no users a promotion that needs
    one goes ahead and its audit row says "approval skipped: no users". The one place that decides it."""
    from conveyor.security import authentication_on as identities_exist

    return identities_exist(project.stores)


def promotion_policy(project: Project) -> PromotionPolicy:
    """What `conveyor models promote` obeys: environments:, registry.protected and whether authentication is on."""
    from conveyor.pipeline.gate_measures import DataMeasures
    from conveyor.registry.environments import PromotionPolicy

    config = project.config
    measures = DataMeasures(project.stores, config.retrain.holdout_fraction, config.data.time_column)
    return PromotionPolicy(config.environments, tuple(config.registry.protected), authentication_on(project),
                           _improvement, measures)


def _improvement(metric: str, new: float, old: float) -> float:
    from conveyor.evaluate.metrics import improvement  # deferred: scikit-learn

    return improvement(metric, new, old)


def serving_target(project: Project, model: str, environment: str | None = None) -> tuple[str, dict[str, Any]]:
    """What `conveyor serve MODEL [--env ENV]` serves and the environment's serve settings (over serve:; the
    command line wins over both). ``MODEL@champion``/``@challenger`` name their environment where there are
    environments."""
    from conveyor.core.errors import BadInputError
    from conveyor.core.refs import ModelRef

    policy = promotion_policy(project)
    parsed = ModelRef.parse(model)
    if environment is None:
        if parsed.alias is None:
            return model, {}
        return str(ModelRef(parsed.name, alias=policy.alias_for(parsed.alias))), {}
    if parsed.alias is not None or parsed.version is not None:
        raise BadInputError(f"--env {environment} serves the environment's model: give the model's name, not "
                            f"{model!r}.", field="model", hint=f"conveyor serve {parsed.name} --env {environment}")
    if not policy.enabled:
        raise BadInputError(f"--env {environment}: conveyor.yaml has no environments.", field="env",
                            hint="Add them with `conveyor init --environments`, or serve MODEL@ALIAS.")
    target = policy.target(environment)
    env = policy.environments.get(target)
    options: dict[str, Any] = dict(env.serve.options())
    if env.shadow is not None:  # the candidate environment scored beside it: what its shadow gate reads
        options["shadow"] = f"{parsed.name}@{policy.alias_for(env.shadow)}"
    return f"{parsed.name}@{target}", options


def retrain_alias(project: Project) -> str:
    """The alias `conveyor retrain` and the agent promote into: retrain.environment, else the first environment,
    else ``champion`` (with environments ``champion``/``challenger`` name theirs; an unknown one is refused)."""
    config = project.config
    policy = promotion_policy(project)
    named = config.retrain.environment or (config.environments.names()[0] if policy.enabled else "champion")
    return policy.target(named)


def retrain_promotion(project: Project, alias: str) -> Any:
    """``promote_into(ref, reason)`` for :func:`conveyor.pipeline.retrain.retrain`: the same promote path as
    `conveyor models promote --to` (order, gates and approval of ``alias``), under the caller's identity."""
    from conveyor.registry.environments import promote_to

    policy = promotion_policy(project)
    return lambda ref, reason: promote_to(project.stores, ref, alias, policy, reason=reason)


def alert_settings(project: Project) -> dict[str, Any]:
    """alerts: as notifiers read it, the webhook with security.allowed_hosts (internal hosts refused)."""
    settings = project.config.alerts.to_dict()
    settings["webhook"] = {**settings.get("webhook", {}), "allowed_hosts": list(project.config.security.allowed_hosts)}
    return settings


def build_agent(project: Project, model: str | None = None) -> Agent:
    """The retraining agent for ``model`` (default retrain.model) as conveyor.yaml configures it: what `conveyor
    agent` and the built-in ``retrain`` pipeline run. It promotes into :func:`retrain_alias` through the
    environments' promotion (order, gates, approval)."""
    import dataclasses

    from conveyor.monitor import alerts as alerting
    from conveyor.pipeline.agent import Agent, policy_from_config  # deferred: the training stack

    config = project.config
    policy = policy_from_config(config.retrain, config.monitor, model)
    policy = dataclasses.replace(policy, alias=retrain_alias(project))
    check_name(policy.model, "model name")
    alerting.parse_rules(config.alerts)  # an unknown notifier is reported before any work starts
    return Agent(project.stores, policy, retrain_options(project), alert_settings(project),
                 drift_policy=drift_policy(project), promotion=promotion_policy(project))
