"""Deployment files for a served model: a Docker build context, and Kubernetes manifests.

``docker_context`` writes a Dockerfile (slim Python base, a non-root user, a HEALTHCHECK on ``/v2/health/ready``)
and either *bakes* the model in (a one-model store under ``model/``: its artifact, checked against its digest, and
the alias) or leaves it to be *pulled* at start from the store named by ``CONVEYOR_DB_URL`` /
``CONVEYOR_ARTIFACTS``. ``k8s_manifests`` writes a Deployment (readiness and liveness probes on the V2 health
routes, resources, a non-root security context), a Service and a HorizontalPodAutoscaler (autoscaling/v2, CPU).
Files are written to a temporary folder and moved into place, so a failure leaves no half-written context.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from conveyor._version import __version__
from conveyor.core.dependencies import DISTRIBUTION
from conveyor.core.entities import ModelVersion
from conveyor.core.errors import BadInputError, first_line
from conveyor.core.refs import ModelRef
from conveyor.registry.flavors import FLAVORS, get_flavor, requires_for
from conveyor.registry.models import load_model, resolve_model
from conveyor.store import Stores

PORT = 8080
BAKED_ROOT = "/srv/conveyor"
_DOCKERFILE = """\
# Serves {ref} with conveyor {version}. Build: docker build -t {image} .
# At run time, CONVEYOR_SERVE_TOKEN (if set) makes every endpoint but health and metrics need a bearer token.
FROM python:{python}-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Installed offline from this folder: the wheel of conveyor {version} and the packages the model was trained with
# (requirements.lock); `conveyor deploy docker --download` puts the locked packages' wheels into wheels/ as well.
COPY wheels/ /tmp/wheels/
COPY requirements.lock /tmp/requirements.lock
RUN {install} \\
    && rm -rf /tmp/wheels /tmp/requirements.lock \\
    && groupadd --system --gid 10001 conveyor \\
    && useradd --system --uid 10001 --gid conveyor --home-dir {root} --shell /usr/sbin/nologin conveyor
WORKDIR {root}
{model_lines}USER 10001:10001
EXPOSE {port}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:{port}/v2/health/ready', timeout=2)"]
CMD ["conveyor", "serve", "{serve_ref}", "--host", "0.0.0.0", "--port", "{port}", "--project", "{root}"]
"""
_BAKED = """\
# The model, baked in: a one-model store (checked against its digest when the server loads it).
COPY --chown=10001:10001 model/ {root}/
"""
_PULLED = """\
# The model is pulled at start from the store these name (set them at run time, e.g. PostgreSQL + S3).
ENV CONVEYOR_DB_URL="" CONVEYOR_ARTIFACTS=""
RUN mkdir -p {root} && printf 'name: served\\n' > {root}/conveyor.yaml && chown -R 10001:10001 {root}
"""


def _atomic_dir(out: Path, fill: Any) -> Path:
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInputError(f"{out} exists and is not an empty folder.", field="--out",
                            hint="Give a new or empty folder.")
    if not out.parent.is_dir():
        raise BadInputError(f"Cannot write {out}: folder {out.parent} does not exist.", field="--out",
                            hint="Create the parent folder first.")
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        fill(staging)
        if out.exists():
            out.rmdir()
        staging.replace(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _bake(stores: Stores, ref: str, folder: Path) -> str:
    """A one-model project in ``folder``: the version's artifact and record, and the alias the image serves."""
    from conveyor.registry.models import promote, register_model

    parsed = ModelRef.parse(ref)
    version = resolve_model(stores, ref)
    loaded = load_model(stores, version)  # verifies the digest before anything is copied
    folder.mkdir(parents=True)
    (folder / "conveyor.yaml").write_text(f"name: {version.name}\n")
    state = folder / ".conveyor"
    baked = Stores.open(f"sqlite:///{state / 'conveyor.db'}", str(state / "artifacts"))
    try:
        copy = register_model(baked, loaded.model, version.name, flavor=version.flavor, signature=version.signature,
                              run_id=version.run_id, dataset=version.dataset, metrics=version.metrics,
                              meta={**version.meta, "source_version": version.ref})
        alias = parsed.alias or "serving"
        promote(baked, copy.ref, alias, reason=f"baked from {version.ref}")
    finally:
        baked.close()
    return f"{version.name}@{alias}"


def install_spec(version: ModelVersion, model: Any = None) -> str:
    """``conveyor-mlops[EXTRAS]==VERSION``: this conveyor with the serving extra and the extras ``version``'s flavor
    declares (``Flavor.requires``); given the loaded ``model``, also those of every estimator inside it (a pickled
    pipeline ending in an XGBoost estimator needs ``xgboost``). A flavor not installed here adds nothing."""
    extras = {"serve"}
    if version.flavor in FLAVORS:
        extras.update(get_flavor(version.flavor).requires)
        if model is not None:
            extras.update(requires_for(model))
    return f"{DISTRIBUTION}[{','.join(sorted(extras))}]=={__version__}"


_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                    r"(?::[0-9]+)?/)?" + _COMPONENT + r"(?:/" + _COMPONENT + r")*"
                    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?")


def check_image(image: str) -> str:
    """An image reference as Docker writes one; anything else (a newline and a ``RUN`` line, spaces, quotes) would
    be written into the Dockerfile or a manifest as it is."""
    if len(image) > 255 or not _IMAGE.fullmatch(image):
        raise BadInputError(f"Invalid image name {image!r}: --image must be a Docker image reference.",
                            field="--image",
                            hint="Use a Docker image reference such as registry.example.com/churn:3.")
    return image


_SPEC = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?(==[A-Za-z0-9.+!-]+)?")


def _checked(value: str, pattern: re.Pattern[str], field: str, what: str, example: str) -> str:
    """A value written into the Dockerfile: one token, no newline, quote or shell syntax."""
    if not pattern.fullmatch(value):
        raise BadInputError(f"{field} must be {what}, got {value!r}.", field=field, hint=f"For example {example}.")
    return value


def recorded_lock(stores: Stores, version: ModelVersion) -> list[str]:
    """``name==version`` of the packages the model was trained with (its run's ``pkg.*`` tags; this environment's
    for a model with no run), conveyor itself left out (it comes from the wheel)."""
    from conveyor.core.environment import package_versions

    run = stores.runs.get(version.run_id) if version.run_id else None
    recorded = {k[4:]: v for k, v in run.tags.items() if k.startswith("pkg.")} if run else {}
    recorded = recorded or package_versions()
    return [f"{name}=={pin}" for name, pin in sorted(recorded.items()) if name != DISTRIBUTION]


def install_line(spec: str, wheels: str = "/tmp/wheels", lock: str = "/tmp/requirements.lock") -> str:
    """The one install command of the image (a test runs it in a fresh virtual environment)."""
    return f'pip install --no-cache-dir --no-index --find-links {wheels} -r {lock} "{spec}"'


def _download(lock: Path, wheels: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(wheels), "-r",
                           str(lock)], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise BadInputError(f"pip download of the locked packages failed: {first_line(done.stderr)}",
                            field="--download", hint="Check the package index is reachable, or fill wheels/ "
                                                     "yourself: pip download -r requirements.lock -d wheels")


def docker_context(stores: Stores, ref: str, out: Path, *, pull: bool = False, image: str | None = None,
                   spec: str | None = None, wheel: Path | None = None, download: bool = False) -> dict[str, Any]:
    from conveyor.serve.wheel import conveyor_wheel

    version = resolve_model(stores, ref)
    image = check_image(image) if image is not None else f"conveyor-{version.name}:{version.version}".lower()
    spec = _checked(spec or install_spec(version, load_model(stores, version).model
                                         if version.flavor in FLAVORS else None), _SPEC, "--spec",
                    "one pip requirement (NAME[EXTRAS]==VERSION)", f"{DISTRIBUTION}[serve]=={__version__}")
    built = conveyor_wheel(wheel)
    lock = recorded_lock(stores, version)

    def fill(staging: Path) -> None:
        serve_ref = ref if pull else _bake(stores, ref, staging / "model")
        (staging / "wheels").mkdir()
        shutil.copy2(built, staging / "wheels" / built.name)
        (staging / "requirements.lock").write_text("".join(f"{line}\n" for line in lock))
        if download:
            _download(staging / "requirements.lock", staging / "wheels")
        dockerfile = _DOCKERFILE.format(ref=version.ref, version=__version__, image=image, install=install_line(spec),
                                        python=f"{sys.version_info[0]}.{sys.version_info[1]}",
                                        root=BAKED_ROOT, port=PORT, serve_ref=serve_ref,
                                        model_lines=(_PULLED if pull else _BAKED).format(root=BAKED_ROOT))
        (staging / "Dockerfile").write_text(dockerfile)
        (staging / ".dockerignore").write_text("**/__pycache__\n*.pyc\n")

    _atomic_dir(out, fill)
    return {"model_version": version.ref, "image": image, "dockerfile": str(Path(out) / "Dockerfile"),
            "mode": "pull" if pull else "baked", "install": spec, "wheel": built.name, "lock": lock,
            "install_line": install_line(spec)}


def k8s_objects(ref: str, version_ref: str, *, image: str, replicas: int = 2, max_replicas: int = 10,
                cpu_target: int = 70, token_secret: str | None = None) -> list[dict[str, Any]]:
    if not 1 <= replicas <= max_replicas:
        raise BadInputError(f"replicas ({replicas}) must be between 1 and max replicas ({max_replicas}).",
                            field="--replicas")
    if not 1 <= cpu_target <= 100:
        raise BadInputError(f"The CPU target must be a percentage from 1 to 100; got {cpu_target}.",
                            field="--cpu-target")
    name = f"conveyor-{ModelRef.parse(ref).name}".lower().replace("_", "-")[:63]
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "conveyor",
              "conveyor/model-version": version_ref.replace(":", "-")}
    selector = {"app.kubernetes.io/name": name}
    env: list[dict[str, Any]] = []
    if token_secret:
        env.append({"name": "CONVEYOR_SERVE_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": token_secret, "key": "token"}}})
    container: dict[str, Any] = {
        "name": "server", "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": "http"}, "initialDelaySeconds": 5,
                           "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": "http"}, "initialDelaySeconds": 15,
                          "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": False, "capabilities": {"drop": ["ALL"]}},
    }
    if env:
        container["env"] = env
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": selector},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": labels,
                                           "annotations": {"prometheus.io/scrape": "true",
                                                           "prometheus.io/port": str(PORT),
                                                           "prometheus.io/path": "/metrics"}},
                              "spec": {"terminationGracePeriodSeconds": 45, "containers": [container]}}},
    }
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels},
               "spec": {"type": "ClusterIP", "selector": selector,
                        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name,
                                                                                           "labels": labels},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicas": replicas, "maxReplicas": max_replicas,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": cpu_target}}}]}}
    return [deployment, service, hpa]


def k8s_manifests(stores: Stores, ref: str, out: Path, *, image: str | None = None, **options: Any) -> dict[str, Any]:
    version = resolve_model(stores, ref)
    image = check_image(image) if image is not None else f"conveyor-{version.name}:{version.version}"
    objects = k8s_objects(ref, version.ref, image=image, **options)

    def fill(staging: Path) -> None:
        for obj in objects:
            (staging / f"{obj['kind'].lower()}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))

    _atomic_dir(out, fill)
    return {"model_version": version.ref, "image": image,
            "files": [str(Path(out) / f"{o['kind'].lower()}.yaml") for o in objects]}
