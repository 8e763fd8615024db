"""L3: the retraining loop (agent, retrain policy) and pipelines: steps with typed inputs and outputs in a DAG,
cached by content, run on an executor, started by hand, by a schedule or by events.

``from conveyor.pipeline import Pipeline`` is what a ``pipelines/*.py`` file needs."""

from conveyor.pipeline.definition import Pipeline, Step, StepContext, Trigger

__all__ = ["Pipeline", "Step", "StepContext", "Trigger"]
