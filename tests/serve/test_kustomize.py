"""`deploy kustomize`: a base and one overlay per environment, rendered by `kubectl kustomize` and valid against the
official Kubernetes schemas (kubernetes-validate, strict) of every version we support."""

from __future__ import annotations

import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from conveyor.core.config.sections.environments import DEFAULT_ENVIRONMENTS
from conveyor.core.errors import BadInputError
from conveyor.serve.kustomize import SUPPORTED_KUBERNETES, kustomize_tree

ENVIRONMENTS = list(DEFAULT_ENVIRONMENTS)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("k") / "deploy"
    kustomize_tree("churn", ENVIRONMENTS, out, image="registry.example.com/conveyor:0.1.0")
    kubectl = shutil.which("kubectl")
    assert kubectl, "scripts/test.sh installs Debian's kubectl"
    found = {}
    for env in ENVIRONMENTS:
        done = subprocess.run([kubectl, "kustomize", str(out / "overlays" / env)], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        found[env] = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    return found


def _by_kind(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES)
def test_every_rendered_object_is_valid_kubernetes(rendered, version):
    for env, docs in rendered.items():
        kinds = sorted(d["kind"] for d in docs)
        assert kinds == ["ConfigMap", "Deployment", "Deployment", "Deployment", "HorizontalPodAutoscaler",
                         "Service", "Service"], env
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)  # raises on the first schema error


def test_the_validator_refuses_a_broken_object(rendered):
    broken = yaml.safe_load(yaml.safe_dump(_by_kind(rendered["prod"], "Deployment", "conveyor-serve")))
    broken["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, SUPPORTED_KUBERNETES[-1], strict=True)


def test_overlays_differ_only_where_environments_must(rendered):
    for env, docs in rendered.items():
        assert {d["metadata"]["namespace"] for d in docs} == {f"conveyor-{env}"}
        config = next(d for d in docs if d["kind"] == "ConfigMap")
        serve = _by_kind(docs, "Deployment", "conveyor-serve")
        container = serve["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][:4] == ["serve", "churn", "--env", "$(CONVEYOR_ENVIRONMENT)"]
        ref = next(e for e in container["env"] if e["name"] == "CONVEYOR_ENVIRONMENT")
        assert ref["valueFrom"]["configMapKeyRef"]["name"] == config["metadata"]["name"]  # the generated name
        assert config["data"] == {"name": env}
        agent = _by_kind(docs, "Deployment", "conveyor-agent")["spec"]["template"]["spec"]["containers"][0]
        assert agent["args"] == ["agent", "churn"]
        secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in agent["env"] if "secretKeyRef" in e["valueFrom"]}
        assert secrets == {"conveyor-store"}  # by reference, nothing secret in the files
        keys = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
                if "secretKeyRef" in e["valueFrom"]}
        assert keys["CONVEYOR_DB_URL"] == {"name": "conveyor-store", "key": "db-url"}
        # a log on its own database and an encrypted project's key reach the replicas; a Secret without them works
        assert keys["CONVEYOR_PREDICTIONS_URL"] == {"name": "conveyor-store", "key": "predictions-url",
                                                    "optional": True}
        assert keys["CONVEYOR_ENCRYPTION_KEY"]["optional"] is True
    replicas = {env: _by_kind(docs, "Deployment", "conveyor-serve")["spec"]["replicas"]
                for env, docs in rendered.items()}
    assert replicas == {"dev": 1, "staging": 1, "prod": 2}
    hpa = _by_kind(rendered["prod"], "HorizontalPodAutoscaler", "conveyor-serve")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    strip = {"namespace", "labels", "name"}

    def shape(docs):
        return sorted(yaml.safe_dump({k: v for k, v in d.items() if k not in ("metadata", "data", "spec")}
                                     | {"meta": {k: v for k, v in d["metadata"].items() if k not in strip}})
                      for d in docs)

    assert shape(rendered["dev"]) == shape(rendered["prod"])


def test_no_environments_no_overlays(tmp_path):
    with pytest.raises(BadInputError, match=r"conveyor\.yaml has none"):
        kustomize_tree("churn", [], tmp_path / "out")
    with pytest.raises(BadInputError, match="--image must be"):
        kustomize_tree("churn", ENVIRONMENTS, tmp_path / "out", image="x\nkind: Secret")
