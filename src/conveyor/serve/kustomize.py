"""The platform as a Kustomize base with one overlay per environment: `conveyor deploy kustomize MODEL --out DIR`.

``base/`` holds the platform server (Deployment + Service), the retraining agent (Deployment) and the serving
replicas of MODEL (Deployment + Service + HorizontalPodAutoscaler), all reading the store's URLs from the Secret
``conveyor-store`` (keys ``db-url`` and ``artifacts``, and the optional ``predictions-url`` and ``encryption-key``;
by reference, never written here). ``overlays/<env>/`` sets
the namespace, the environment the replicas serve (``conveyor serve MODEL --env ENV`` through a generated
ConfigMap) and its replica counts, so dev, staging and prod differ only where they must. Render one with
``kubectl kustomize DIR/overlays/prod``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from conveyor.core.errors import BadInputError
from conveyor.core.refs import check_name
from conveyor.serve.deploy import PORT, _atomic_dir, check_image

__all__ = ["SUPPORTED_KUBERNETES", "kustomize_tree"]

# Kubernetes versions the manifests are validated against (tests/serve/test_kustomize.py)
SUPPORTED_KUBERNETES = ("1.30.0", "1.33.0", "1.37.0")
SERVER_PORT = 8000
STORE_SECRET = "conveyor-store"
LABELS = {"app.kubernetes.io/part-of": "conveyor"}


# (variable, Secret key, required): the prediction log's own URL and the encryption key are optional keys, so one
# Secret serves a plain project and one whose log lives apart or whose artifacts are encrypted.
STORE_KEYS = (("CONVEYOR_DB_URL", "db-url", True), ("CONVEYOR_ARTIFACTS", "artifacts", True),
              ("CONVEYOR_PREDICTIONS_URL", "predictions-url", False),
              ("CONVEYOR_ENCRYPTION_KEY", "encryption-key", False))


def _store_env() -> list[dict[str, Any]]:
    env = []
    for name, key, required in STORE_KEYS:
        ref: dict[str, Any] = {"name": STORE_SECRET, "key": key}
        if not required:
            ref["optional"] = True
        env.append({"name": name, "valueFrom": {"secretKeyRef": ref}})
    return env


def _container(name: str, image: str, args: list[str], port: int | None, env: list[dict[str, Any]]
               ) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent", "command": ["conveyor"], "args": args,
        "env": env,
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    }
    if port is not None:
        container["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    return container


def _deployment(name: str, container: dict[str, Any], replicas: int) -> dict[str, Any]:
    labels = {**LABELS, "app.kubernetes.io/name": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container]}}}}


def _service(name: str, port: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "labels": {**LABELS, "app.kubernetes.io/name": name}},
            "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": name},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}


def _probes(container: dict[str, Any], ready: str, live: str) -> dict[str, Any]:
    container["readinessProbe"] = {"httpGet": {"path": ready, "port": "http"}, "periodSeconds": 5}
    container["livenessProbe"] = {"httpGet": {"path": live, "port": "http"}, "initialDelaySeconds": 15,
                                  "periodSeconds": 10}
    return container


def base_objects(model: str, image: str) -> dict[str, list[dict[str, Any]]]:
    """File name -> the objects of ``base/``."""
    store = _store_env()
    server = _probes(_container("server", image, ["server", "--host", "0.0.0.0", "--port", str(SERVER_PORT)],
                                SERVER_PORT, store), "/api/v1/health", "/api/v1/health")
    agent = _container("agent", image, ["agent", model], None, store)
    serve_env = [*store, {"name": "CONVEYOR_ENVIRONMENT",
                          "valueFrom": {"configMapKeyRef": {"name": "conveyor-environment", "key": "name"}}}]
    serving = _probes(_container("serve", image, ["serve", model, "--env", "$(CONVEYOR_ENVIRONMENT)", "--host",
                                                  "0.0.0.0", "--port", str(PORT)], PORT, serve_env),
                      "/v2/health/ready", "/v2/health/live")
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "conveyor-serve", "labels": {**LABELS, "app.kubernetes.io/name": "conveyor-serve"}},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "conveyor-serve"},
                    "minReplicas": 1, "maxReplicas": 4,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 70}}}]}}
    return {"server.yaml": [_deployment("conveyor-server", server, 1), _service("conveyor-server", SERVER_PORT)],
            "agent.yaml": [_deployment("conveyor-agent", agent, 1)],
            "serving.yaml": [_deployment("conveyor-serve", serving, 1), _service("conveyor-serve", PORT), hpa]}


def _overlay(env: str, index: int, count: int) -> dict[str, Any]:
    last = index == count - 1
    replicas = 2 if last else 1
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "namespace": f"conveyor-{env}", "resources": ["../../base"],
        "labels": [{"pairs": {"conveyor/environment": env}, "includeSelectors": False}],
        "configMapGenerator": [{"name": "conveyor-environment", "behavior": "replace", "literals": [f"name={env}"]}],
        "replicas": [{"name": "conveyor-serve", "count": replicas}],
        "patches": [{"target": {"kind": "HorizontalPodAutoscaler", "name": "conveyor-serve"},
                     "patch": yaml.safe_dump([
                         {"op": "replace", "path": "/spec/minReplicas", "value": replicas},
                         {"op": "replace", "path": "/spec/maxReplicas", "value": 10 if last else 2}])}],
    }


def kustomize_tree(model: str, environments: list[str], out: Path, *, image: str | None = None) -> dict[str, Any]:
    """Write ``base/`` and ``overlays/<env>/`` for ``environments`` (in promotion order) under ``out``."""
    check_name(model, "model name")
    if not environments:
        raise BadInputError("deploy kustomize writes one overlay per environment, and conveyor.yaml has none.",
                            field="environments", hint="Add them with `conveyor init --environments`.")
    image = check_image(image or f"conveyor-{model}:latest".lower())
    objects = base_objects(model, image)

    def fill(staging: Path) -> None:
        base = staging / "base"
        base.mkdir()
        for name, docs in objects.items():
            (base / name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
        (base / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": list(objects),
            "configMapGenerator": [{"name": "conveyor-environment", "literals": [f"name={environments[0]}"]}],
        }, sort_keys=False))
        for index, env in enumerate(environments):
            folder = staging / "overlays" / env
            folder.mkdir(parents=True)
            (folder / "kustomization.yaml").write_text(yaml.safe_dump(_overlay(env, index, len(environments)),
                                                                      sort_keys=False))

    _atomic_dir(out, fill)
    return {"base": str(Path(out) / "base"), "overlays": {env: str(Path(out) / "overlays" / env)
                                                          for env in environments}, "image": image}
