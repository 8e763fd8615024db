"""`conveyor deploy ...`: a Docker build context or Kubernetes manifests for a served model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project

app = typer.Typer(help="Deployment files: a Docker build context, Kubernetes manifests, a Kustomize base with "
                        "overlays.", no_args_is_help=True)

ModelArg = Annotated[str, typer.Argument(help="MODEL@ALIAS, MODEL:N or MODEL.")]
OutOption = Annotated[Path, typer.Option("--out", help="A new or empty folder to write into.")]


@app.command("docker")
def docker(model: ModelArg, out: OutOption,
           pull: Annotated[bool, typer.Option("--pull", help="Pull the model from the store at start instead of "
                                                             "baking it into the image.")] = False,
           image: Annotated[str | None, typer.Option("--image", help="Image name for the build hint.")] = None,
           spec: Annotated[str | None, typer.Option("--spec", help="pip requirement installing conveyor "
                                                                   "(default: this version).")] = None,
           wheel: Annotated[Path | None, typer.Option("--wheel", help="The conveyor-mlops wheel to ship (default: "
                                                                      "built from this checkout).")] = None,
           download: Annotated[bool, typer.Option("--download", help="Also download the locked packages' wheels "
                                                                     "into the context (needs the index).")] = False,
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """A build context: Dockerfile (slim base, non-root user, HEALTHCHECK), the wheel of this conveyor and a lock of
    the packages the model was trained with, installed offline; the model baked in or pulled at start."""
    from conveyor.serve.deploy import docker_context

    with open_project(project) as proj:
        summary = docker_context(proj.stores, model, out, pull=pull, image=image, spec=spec, wheel=wheel,
                                 download=download)
    if json:
        emit_json(summary)
        return
    typer.echo(f"wrote {summary['dockerfile']} ({summary['mode']} {summary['model_version']}); "
               f"build: docker build -t {summary['image']} {out}")


@app.command("k8s")
def k8s(model: ModelArg, out: OutOption,
        image: Annotated[str | None, typer.Option("--image", help="Container image to run.")] = None,
        replicas: Annotated[int, typer.Option("--replicas", min=1)] = 2,
        max_replicas: Annotated[int, typer.Option("--max-replicas", min=1)] = 10,
        cpu_target: Annotated[int, typer.Option("--cpu-target", help="HPA CPU utilisation target, %.")] = 70,
        token_secret: Annotated[str | None, typer.Option("--token-secret", help="Secret (key 'token') holding "
                                                                               "the bearer token.")] = None,
        project: ProjectOption = None, json: JsonOption = False) -> None:
    """Deployment (readiness/liveness probes), Service and HorizontalPodAutoscaler manifests."""
    from conveyor.serve.deploy import k8s_manifests

    with open_project(project) as proj:
        summary = k8s_manifests(proj.stores, model, out, image=image, replicas=replicas, max_replicas=max_replicas,
                                cpu_target=cpu_target, token_secret=token_secret)
    if json:
        emit_json(summary)
        return
    typer.echo(f"wrote {', '.join(Path(f).name for f in summary['files'])} to {out} for {summary['model_version']}")


@app.command("edge")
def edge(model: ModelArg, out: OutOption,
         tolerance: Annotated[float, typer.Option("--tolerance", min=0.0, help="The largest difference from the "
                                                  "model the ONNX export may show on its training rows.")] = 1e-4,
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """A bundle for small devices: model.onnx, runner.py (onnxruntime and numpy only), schema.json and
    requirements.txt. Refused (exit 2) when the model does not convert or the export disagrees with it."""
    from conveyor.serve.edge import edge_bundle

    with open_project(project) as proj:
        summary = edge_bundle(proj.stores, model, out, tolerance=tolerance)
    if json:
        emit_json(summary)
        return
    typer.echo(f"wrote {out} for {summary['model_version']}: {summary['bytes']} bytes, largest difference from "
               f"the model {summary['max_abs_diff']:.2g} on {summary['check_rows']} rows; run: "
               f"python {out}/runner.py ROWS.json")


@app.command("kustomize")
def kustomize(model: Annotated[str, typer.Argument(help="The model name the serving replicas and the agent look "
                                                        "after.")], out: OutOption,
              image: Annotated[str | None, typer.Option("--image", help="Container image (with conveyor).")] = None,
              project: ProjectOption = None, json: JsonOption = False) -> None:
    """The platform (server, agent, serving replicas) as a Kustomize base with one overlay per environment:
    `kubectl kustomize OUT/overlays/prod`. Store URLs come from the Secret conveyor-store, by reference."""
    from conveyor.serve.kustomize import kustomize_tree

    with open_project(project) as proj:
        summary = kustomize_tree(model, proj.config.environments.names(), out, image=image)
    if json:
        emit_json(summary)
        return
    typer.echo(f"wrote {out}/base and overlays {', '.join(summary['overlays'])}; render one with "
               f"`kubectl kustomize {out}/overlays/<env>`")
