"""`conveyor serve` against a platform server accepts that server's tokens: a model server (real uvicorn) asks a
platform server (real uvicorn, authentication on) who a token is, at /api/v1/whoami, and remembers the answer."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from conveyor.project import Project
from conveyor.registry.models import register_model
from conveyor.security import add_identity
from conveyor.serve import running_server
from conveyor.serve.app import create_app as serve_app
from conveyor.serve.platform_tokens import PlatformTokens
from conveyor.server import create_app as platform_app


def test_a_platform_token_is_accepted_and_others_are_refused(tmp_path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    labels = (frame["a"] > 0).astype(int)
    with Project.init(tmp_path / "p", name="platform") as project:
        register_model(project.stores, LogisticRegression().fit(frame, labels), "churn", input_example=frame.head(3))
        viewer = add_identity(project.stores, "reader", "viewer", actor="tests").secret
        body = {"dataframe_split": {"columns": ["a", "b"], "data": [[0.5, 0.1]]}}
        with running_server(platform_app(project)) as platform:
            app = serve_app(project.stores, "churn", token="replica-secret", platform_url=platform,
                            log_predictions=False)
            with running_server(app) as url:
                def call(token: str | None) -> int:
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    return httpx.post(f"{url}/invocations", json=body, headers=headers, timeout=30).status_code

                assert call(viewer) == 200  # asked the platform server
                assert call(viewer) == 200  # remembered
                assert call("replica-secret") == 200  # the replica's own token still works
                assert call("cvy_not-a-platform-token") == 401
                assert call(None) == 401
        # with the platform server gone nothing new is accepted on a guess
        other = add_identity(project.stores, "late", "viewer", actor="tests").secret
        tokens = PlatformTokens(platform)
        assert tokens.check(other) is False and tokens.cached(other) is False


def test_remote_serve_against_a_server_with_users_takes_its_tokens(tmp_path) -> None:
    from conveyor.client import connect
    from conveyor.client.serving import remote_serving_app

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    with Project.init(tmp_path / "p", name="platform") as project:
        register_model(project.stores, LogisticRegression().fit(frame, frame["a"] > 0), "churn",
                       input_example=frame.head(3))
        replica = add_identity(project.stores, "replica", "viewer", kind="service", actor="tests").secret
        user = add_identity(project.stores, "ana", "scientist", actor="tests").secret
        body = {"dataframe_split": {"columns": ["a", "b"], "data": [[0.5, 0.1]]}}
        with (running_server(platform_app(project)) as platform, connect(platform, token=replica) as remote,
              running_server(remote_serving_app(remote.models, "churn:1", log_predictions=False)) as url):
            signed = httpx.post(f"{url}/invocations", json=body, headers={"Authorization": f"Bearer {user}"},
                                timeout=30)
            anonymous = httpx.post(f"{url}/invocations", json=body, timeout=30)
        assert signed.status_code == 200 and anonymous.status_code == 401
        downloads = [e for e in project.models.audit() if e.action == "model.download"]
        assert [(e.actor, e.subject) for e in downloads] == [("replica", "churn:1")]
