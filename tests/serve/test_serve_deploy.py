"""`conveyor deploy docker|k8s`: the files parse, follow the rules (non-root, probes, health check) and pass a
JSON-schema check of the Kubernetes objects' required structure."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import conveyor
from conveyor.core.errors import BadInputError
from conveyor.registry.models import load_model, promote, register_model
from conveyor.serve.deploy import docker_context, install_spec, k8s_manifests
from conveyor.store import Stores

PROBE = {"type": "object", "required": ["httpGet", "periodSeconds"],
         "properties": {"httpGet": {"type": "object", "required": ["path", "port"],
                                    "properties": {"path": {"type": "string", "pattern": "^/"},
                                                   "port": {"type": ["string", "integer"]}}},
                        "periodSeconds": {"type": "integer", "minimum": 1}}}
NAME = {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
METADATA = {"type": "object", "required": ["name"], "properties": {"name": NAME, "labels": {
    "type": "object", "additionalProperties": {"type": "string", "maxLength": 63}}}}
CONTAINER = {"type": "object",
             "required": ["name", "image", "ports", "readinessProbe", "livenessProbe", "resources"],
             "properties": {"name": NAME, "image": {"type": "string", "minLength": 1},
                            "ports": {"type": "array", "items": {
                                "type": "object", "required": ["containerPort"],
                                "properties": {"containerPort": {"type": "integer", "minimum": 1,
                                                                 "maximum": 65535}}}},
                            "readinessProbe": PROBE, "livenessProbe": PROBE,
                            "securityContext": {"type": "object", "properties": {"runAsNonRoot": {"const": True}}}}}
POD = {"type": "object", "required": ["containers"],
       "properties": {"containers": {"type": "array", "minItems": 1, "items": CONTAINER}}}
DEPLOYMENT_SPEC = {"type": "object", "required": ["replicas", "selector", "template"],
                   "properties": {"replicas": {"type": "integer", "minimum": 1},
                                  "selector": {"type": "object", "required": ["matchLabels"]},
                                  "template": {"type": "object", "required": ["metadata", "spec"],
                                               "properties": {"spec": POD}}}}
SCHEMAS = {
    "Deployment": {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
                   "properties": {"apiVersion": {"const": "apps/v1"}, "metadata": METADATA,
                                  "spec": DEPLOYMENT_SPEC}},
    "Service": {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "properties": {
        "apiVersion": {"const": "v1"}, "metadata": METADATA,
        "spec": {"type": "object", "required": ["selector", "ports"], "properties": {"ports": {
            "type": "array", "minItems": 1, "items": {"type": "object", "required": ["port", "targetPort"]}}}}}},
    "HorizontalPodAutoscaler": {"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
                                "properties": {"apiVersion": {"const": "autoscaling/v2"}, "metadata": METADATA,
                                               "spec": {"type": "object",
                                                        "required": ["scaleTargetRef", "minReplicas", "maxReplicas",
                                                                     "metrics"]}}},
}


def test_k8s_manifests_pass_the_schema_and_wire_up(stores, regressor, tmp_path):
    regressor.register(stores, "price")
    promote(stores, "price:1", "champion")
    summary = k8s_manifests(stores, "price@champion", tmp_path / "k8s", image="registry.local/price:1",
                            replicas=2, max_replicas=6, token_secret="price-token")
    objects = {}
    for path in summary["files"]:
        obj = yaml.safe_load(Path(path).read_text())
        jsonschema.validate(obj, SCHEMAS[obj["kind"]])
        objects[obj["kind"]] = obj
    deployment, service, hpa = objects["Deployment"], objects["Service"], objects["HorizontalPodAutoscaler"]
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    container = pod["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "price-token", "key": "token"}
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    with pytest.raises(BadInputError, match="replicas"):
        k8s_manifests(stores, "price@champion", tmp_path / "k8s2", replicas=7, max_replicas=6)
    assert not (tmp_path / "k8s2").exists()


def test_docker_context_bakes_a_loadable_model_and_runs_as_non_root(stores, regressor, tmp_path):
    regressor.register(stores, "price")
    regressor.register(stores, "price")
    promote(stores, "price:2", "champion")
    summary = docker_context(stores, "price@champion", tmp_path / "image")
    dockerfile = (tmp_path / "image" / "Dockerfile").read_text()
    assert summary["mode"] == "baked" and dockerfile.startswith("# Serves price:2")
    assert re.search(r"^FROM python:3\.\d+-slim$", dockerfile, re.M)
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M) and "useradd --system --uid 10001" in dockerfile
    assert re.search(r"^HEALTHCHECK .*", dockerfile, re.M) and "/v2/health/ready" in dockerfile
    assert '"serve", "price@champion", "--host", "0.0.0.0"' in dockerfile
    # the distribution users install, at the running version, with the extras this model's flavor needs
    assert f'--find-links /tmp/wheels -r /tmp/requirements.lock "conveyor-mlops[serve]=={conveyor.__version__}"' \
        in dockerfile
    assert summary["install"] == f"conveyor-mlops[serve]=={conveyor.__version__}" and "conveyor==" not in dockerfile
    assert dockerfile.index("COPY --chown=10001:10001 model/") < dockerfile.index("USER 10001")
    state = tmp_path / "image" / "model" / ".conveyor"
    baked = Stores.open(f"sqlite:///{state / 'conveyor.db'}", str(state / "artifacts"))
    try:
        model = load_model(baked, "price@champion")
        assert model.version.meta["source_version"] == "price:2"
        assert model.predict(regressor.rows).tolist() == pytest.approx(regressor.model.predict(regressor.rows))
    finally:
        baked.close()
    pulled = docker_context(stores, "price@champion", tmp_path / "pulled", pull=True)
    text = (tmp_path / "pulled" / "Dockerfile").read_text()
    assert pulled["mode"] == "pull" and "model/" not in text and "CONVEYOR_DB_URL" in text
    with pytest.raises(BadInputError, match="not an empty folder"):
        docker_context(stores, "price@champion", tmp_path / "image")


def test_the_image_installs_the_extras_of_the_flavor(stores, regressor, tmp_path):
    import xgboost

    model = xgboost.XGBRegressor(n_estimators=5).fit(regressor.rows, regressor.rows["x0"]).get_booster()
    native = register_model(stores, model, "boost", signature=regressor.signature)
    assert native.flavor == "xgboost"
    assert install_spec(native) == f"conveyor-mlops[serve,xgboost]=={conveyor.__version__}"
    pipeline = Pipeline([("scale", StandardScaler()), ("model", xgboost.XGBRegressor(n_estimators=5))])
    pipeline.fit(regressor.rows, regressor.rows["x0"])
    searched = register_model(stores, pipeline, "auto", signature=regressor.signature)
    assert searched.flavor == "sklearn" and install_spec(searched) == f"conveyor-mlops[serve]=={conveyor.__version__}"
    # the loaded model shows what is inside the pickle: its last step needs the xgboost extra, and the image gets it
    built = docker_context(stores, "auto:1", tmp_path / "image")
    assert built["install"] == f"conveyor-mlops[serve,xgboost]=={conveyor.__version__}"
    assert f'"conveyor-mlops[serve,xgboost]=={conveyor.__version__}"' in (
        tmp_path / "image" / "Dockerfile").read_text()
    register_model(stores, regressor.model, "lgbm", signature=regressor.signature)
    assert docker_context(stores, "lgbm:1", tmp_path / "lgbm")["install"] == (
        f"conveyor-mlops[serve]=={conveyor.__version__}")
