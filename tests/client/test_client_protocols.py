"""The remote sub-APIs implement the project's protocols: every method, with the same parameters."""

from __future__ import annotations

import inspect

import pytest

from conveyor.client.connections import RemoteConnections
from conveyor.client.data import RemoteData
from conveyor.client.feedback import RemoteFeedback
from conveyor.client.models import RemoteModels
from conveyor.client.monitoring import RemoteMonitoring
from conveyor.client.runs import RemoteRuns
from conveyor.client.training import RemoteTraining
from conveyor.project.connections import ConnectionsAPI
from conveyor.project.data import DataAPI
from conveyor.project.feedback import FeedbackAPI
from conveyor.project.models import ModelsAPI
from conveyor.project.monitoring import MonitoringAPI
from conveyor.project.runs import RunsAPI
from conveyor.project.training import TrainingAPI

PAIRS = [(DataAPI, RemoteData), (RunsAPI, RemoteRuns), (ModelsAPI, RemoteModels),
         (MonitoringAPI, RemoteMonitoring), (TrainingAPI, RemoteTraining), (FeedbackAPI, RemoteFeedback),
         (ConnectionsAPI, RemoteConnections)]


@pytest.mark.parametrize(("protocol", "remote"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_remote_class_has_every_method_of_its_protocol(protocol: type, remote: type) -> None:
    methods = [name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_")]
    assert methods
    for name in methods:
        assert hasattr(remote, name), f"{remote.__name__} lacks {name}"
        wanted = list(inspect.signature(getattr(protocol, name)).parameters)
        got = list(inspect.signature(getattr(remote, name)).parameters)
        assert got == wanted, f"{remote.__name__}.{name}{got} != {protocol.__name__}.{name}{wanted}"
