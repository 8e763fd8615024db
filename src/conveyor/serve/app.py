"""The inference server: one registered model behind MLflow's ``/invocations`` and the Open Inference (V2) REST API.

The model is resolved and loaded once, when the app is created, so a bad reference fails at startup rather than on
the first request. Request bodies are parsed by hand (:mod:`conveyor.serve.payloads`, :mod:`conveyor.serve.v2`)
rather than by pydantic models: the formats are unions FastAPI cannot describe, and every rejection must name the
column or row at fault. Decoding and scoring run in the thread pool so a large request never stalls the event loop.
Every prediction gets an id and is logged through a :class:`PredictionLogger`, closed (flushed) on shutdown.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from conveyor._version import __version__
from conveyor.core.errors import NotFoundError, PayloadTooLargeError
from conveyor.registry.models import load_model, resolve_model
from conveyor.serve import v2
from conveyor.serve.conform import MAX_ROWS, conform
from conveyor.serve.payloads import decode_json_body, parse_body, parse_feedback
from conveyor.serve.predlog import PredictionLogger
from conveyor.serve.responses import JSONBytes, install_error_handlers
from conveyor.serve.scoring import Scorer
from conveyor.store import Stores

DEFAULT_MAX_BODY_BYTES = 20 * 2**20


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with a 413 as soon as it is known to exceed ``limit`` (declared or actual size)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"The request body is {int(declared)} bytes; this server accepts at most "
                                   f"{limit}.", field="body", hint="Split the data into smaller requests.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"The request body exceeds {limit} bytes, the most this server accepts.",
                                       field="body", hint="Split the data into smaller requests.")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(stores: Stores, ref: str, *, log_predictions: bool = True,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_rows: int = MAX_ROWS) -> FastAPI:
    """An ASGI app serving the model ``ref`` (``NAME``, ``NAME:N`` or ``NAME@ALIAS``) from ``stores``.

    ``max_body_bytes`` and ``max_rows`` bound one request (413 beyond them); ``log_predictions=False`` keeps the
    prediction log (and so ``/feedback``) out of it, e.g. for a load test.
    """
    model = load_model(stores, resolve_model(stores, ref))
    scorer = Scorer(model, PredictionLogger(stores.metadata) if log_predictions else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The logger starts with the app (so it logs even where no lifespan runs) and is flushed and closed at
        # shutdown; an app served again after that gets a fresh one.
        if scorer.logger is not None and scorer.logger.closed:
            scorer.logger = app.state.prediction_logger = PredictionLogger(stores.metadata)
        try:
            yield
        finally:
            if scorer.logger is not None:
                await run_in_threadpool(scorer.logger.close)

    app = FastAPI(title="conveyor model server", version=__version__, summary=f"Serving {model.version.ref}",
                  lifespan=lifespan, default_response_class=JSONBytes)
    install_error_handlers(app)
    app.state.scorer = scorer
    app.state.prediction_logger = scorer.logger
    app.include_router(_mlflow_router(stores, scorer, max_body_bytes, max_rows))
    app.include_router(_v2_router(scorer, max_body_bytes, max_rows))
    return app


def _mlflow_router(stores: Stores, scorer: Scorer, max_body_bytes: int, max_rows: int) -> APIRouter:
    router = APIRouter()
    version = scorer.model.version
    inputs = version.signature.get("inputs", [])
    headers = {"X-Model-Version": version.ref}

    @router.get("/health")
    async def health() -> Response:
        return JSONBytes({"status": "ok", "model": version.name, "model_version": version.ref}, headers=headers)

    @router.post("/invocations")
    async def invocations(request: Request) -> Response:
        """MLflow scoring: JSON (dataframe_split, dataframe_records, instances, inputs) or a CSV body."""
        started = time.perf_counter()
        body = await read_body(request, max_body_bytes)
        content_type = request.headers.get("content-type")

        def run() -> dict[str, Any]:
            payload = parse_body(body, content_type, inputs, max_rows=max_rows)
            scored = scorer.score(payload.frame, started)
            answer: dict[str, Any] = {"predictions": scored.predictions, "model_version": version.ref,
                                      "ids": scored.ids, "ignored_columns": payload.ignored_columns}
            probabilities = scored.probabilities()
            if probabilities is not None:
                answer["probabilities"] = probabilities
            return answer

        return JSONBytes(await run_in_threadpool(run), headers=headers)

    @router.post("/feedback")
    async def feedback(request: Request) -> Response:
        """Ground truth for earlier predictions, by the ids ``/invocations`` answered with."""
        body = await read_body(request, max_body_bytes)
        content_type = request.headers.get("content-type")

        def run() -> dict[str, Any]:
            labels = parse_feedback(decode_json_body(body, content_type), max_labels=max_rows)
            if scorer.logger is not None:
                scorer.logger.flush()  # predictions made an instant ago may still be queued
            missing = stores.metadata.add_feedback(labels)
            return {"updated": len(labels) - len(missing), "missing": missing}

        return JSONBytes(await run_in_threadpool(run))

    return router


def _v2_router(scorer: Scorer, max_body_bytes: int, max_rows: int) -> APIRouter:
    router = APIRouter(prefix="/v2")
    version = scorer.model.version
    names = [c["name"] for c in version.signature.get("inputs", [])]
    inputs = version.signature.get("inputs", [])
    headers = {"X-Model-Version": version.ref}

    def check(name: str, number: str | None = None) -> None:
        if name != version.name:
            raise NotFoundError(f"Unknown model {name!r}: this server serves {version.name!r}.", field="model",
                                hint=f"Use /v2/models/{version.name}.")
        if number is not None and number != str(version.version):
            raise NotFoundError(f"Model {name!r} has no version {number!r} on this server; it serves version "
                                f"{version.version}.", field="version", hint=f"Use /v2/models/{version.name}.")

    @router.get("")
    async def server_metadata() -> Response:
        return JSONBytes({"name": "conveyor", "version": __version__, "extensions": []})

    @router.get("/health/live")
    async def live() -> Response:
        return JSONBytes({"live": True})

    @router.get("/health/ready")
    async def ready() -> Response:
        return JSONBytes({"ready": True})

    @router.get("/models/{name}")
    @router.get("/models/{name}/versions/{number}")
    async def metadata(name: str, number: str | None = None) -> Response:
        check(name, number)
        return JSONBytes(v2.model_metadata(scorer), headers=headers)

    @router.get("/models/{name}/ready")
    @router.get("/models/{name}/versions/{number}/ready")
    async def model_ready(name: str, number: str | None = None) -> Response:
        check(name, number)
        return JSONBytes({"name": name, "ready": True}, headers=headers)

    @router.post("/models/{name}/infer")
    @router.post("/models/{name}/versions/{number}/infer")
    async def infer(name: str, request: Request, number: str | None = None) -> Response:
        started = time.perf_counter()
        check(name, number)
        body = await read_body(request, max_body_bytes)
        content_type = request.headers.get("content-type")

        def run() -> dict[str, Any]:
            data = decode_json_body(body, content_type)
            frame = v2.frame_from_v2(data, names, max_rows=max_rows)
            rid, outputs = v2.request_id(data), v2.requested_outputs(data, scorer)
            payload = conform(frame, inputs, max_rows=max_rows)
            scored = scorer.score(payload.frame, started)
            return v2.infer_response(scorer, scored, rid=rid, outputs=outputs,
                                     ignored_columns=payload.ignored_columns)

        return JSONBytes(await run_in_threadpool(run), headers=headers)

    return router
