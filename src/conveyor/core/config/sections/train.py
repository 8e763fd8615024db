"""``train:`` the AutoML search of `conveyor train` (and of retraining)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from conveyor.core.config.constraints import Boolean, Duration, Integer, ListOf, Name, Nested, Number, OneOf, Text
from conveyor.core.config.section import Section, setting

TASKS = ("auto", "classification", "regression")


@dataclass(frozen=True, kw_only=True)
class FeatureSelection(Section):
    """Feature selection, run once on the training rows before the search."""

    method: str = setting("none", Name(example="mutual_info"),
                          doc="none, variance, mutual_info, l1, tree or rfe (or a plug-in selector).")
    keep: float = setting(0.8, Number(0, 1, min_open=True, example="0.5"),
                          doc="Share of the scored columns to keep (mutual_info, tree, rfe).")
    max_share: float = setting(0.99, Number(0, 1, min_open=True, example="0.95"),
                               doc="variance: drop a column whose most common value fills at least this share.")


@dataclass(frozen=True, kw_only=True)
class TrainSection(Section):
    """The AutoML search of `conveyor train`, also used by `conveyor retrain` and the agent. Command-line
    options win where both exist."""

    section: ClassVar[str] = "train"
    order: ClassVar[int] = 20

    task: str = setting("auto", OneOf(*TASKS), doc="`--task`: auto detects it from the target.")
    metric: str | None = setting(None, Name(example="roc_auc"),
                                 doc="`--metric`; default roc_auc (binary), accuracy (multiclass), rmse (regression).")
    budget: float = setting("60s", Duration(positive=True, example="2m"),
                            doc="`--budget`: time budget of the search, from process start to exit.")
    search: str = setting("bayesian", Name(example="random"), doc="`--search`: bayesian (TPE), random or grid.")
    evaluate: str = setting("full", OneOf("basic", "full"),
                            doc="`--evaluate`: basic (metrics, curves, slices, fairness) or full (also permutation "
                                "importance and SHAP, when the budget leaves time for them; else recorded as skipped).")
    families: list[str] | None = setting(None, ListOf(Name(), example="[linear, lightgbm]"),
                                         doc="Model families to search (default: every installed one).")
    folds: int | None = setting(None, Integer(min=1, example="5"),
                                doc="`--folds`; null: 5-fold CV up to 3,000 training rows, 3-fold up to 20,000, "
                                    "else one validation split.")
    ensemble: bool = setting(True, Boolean(),
                             doc="Keep a weighted ensemble of the best trials when it scores better.")
    workers: int = setting(1, Integer(min=1, example="4"),
                           doc="Trials in flight at once (with the processes or ray executor).")
    executor: str = setting("inline", Name(example="processes"),
                            doc="Where trials run: inline, processes or ray. CONVEYOR_EXECUTOR wins.")
    trial_cpus: float = setting(1.0, Number(0, example="2"),
                                doc="CPUs each trial's tasks ask of the ray executor (Ray's num_cpus).")
    trial_gpus: float = setting(0.0, Number(0, example="1"),
                                doc="GPUs each trial's tasks ask of the ray executor (Ray's num_gpus: a task waits "
                                    "for a free GPU and sees only its own); other executors refuse more than 0.")
    device: str = setting("auto", OneOf("auto", "cpu", "cuda"),
                          doc="Where XGBoost trains: auto (a GPU when NVML finds one), cpu or cuda (refused without "
                              "a GPU). LightGBM and scikit-learn families always train on the CPU.")
    study_storage: str | None = setting(None, Text("a file path or database URL",
                                                   example="postgresql://host/optuna"),
                                        doc="Optuna's state: a journal file (workers of one host) or a database URL "
                                            "(workers on several hosts; a database of its own).")
    feature_selection: FeatureSelection | None = setting(None, Nested(FeatureSelection),
                                                         doc="Feature selection before the search (method, keep, "
                                                             "max_share).")
    slice: str | None = setting(None, Text("a column name", example="region"),
                                doc="Report metrics per value (or quartile) of this column.")
    intended_use: str | None = setting(None, Text("a sentence", example='"Triage support."'),
                                       doc="Goes into the model card.")


SECTION = TrainSection
