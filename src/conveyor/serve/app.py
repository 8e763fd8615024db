"""The inference server: one registered model behind MLflow's ``/invocations`` and the Open Inference (V2) REST API.

The model is resolved and loaded when the app is created, so a bad reference fails at startup rather than on the
first request; when the reference is an alias, the server follows it (:mod:`conveyor.serve.holder`): promote or
roll back and the next requests get the new version, with no restart and no failed or mixed request. Every answer
names the version that produced it (``X-Model-Version`` header and ``model_version`` field).

The hot path: the body is read and, when small, decoded on the event loop (a thread hop costs more than decoding a
few rows); numeric rows for a booster become a float matrix with no DataFrame (:mod:`conveyor.serve.inputs`);
requests are micro-batched (:mod:`conveyor.serve.batching`); JSON goes out through orjson. Logging, shadow scoring
and metrics stay off that path. Bad input is a 4xx naming the field, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from conveyor._version import __version__
from conveyor.core.dependencies import extra_imports
from conveyor.core.entities import Sample
from conveyor.core.errors import (
    BadInputError,
    ConveyorError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from conveyor.core.refs import ModelRef
from conveyor.features.online import OnlineStore
from conveyor.registry.environment_gates import SHADOW_ERRORS
from conveyor.registry.loaded import LoadedModel
from conveyor.serve import v2
from conveyor.serve.batching import MicroBatcher
from conveyor.serve.conform import MAX_ROWS, conform
from conveyor.serve.explain import explain
from conveyor.serve.features import OnlineJoin, online_join_for
from conveyor.serve.holder import ModelHolder, ModelSource
from conveyor.serve.inputs import Inputs, fast_matrix, fast_v2_matrix
from conveyor.serve.metrics import MetricsAndAuth, ServerMetrics
from conveyor.serve.payloads import (
    CSV_TYPES,
    JSON_TYPES,
    PARQUET_TYPES,
    decode_json,
    decode_json_body,
    frame_from_csv,
    frame_from_json,
    frame_from_parquet,
    media_type,
    parse_body,
    parse_feedback,
    parse_json_payload,
)
from conveyor.serve.predictor import Predictor
from conveyor.serve.predlog import PredictionLogger
from conveyor.serve.responses import (
    JSONBytes,
    error_response,
    install_error_handlers,
    render_json,
    server_error,
    server_error_body,
)
from conveyor.serve.scoring import Scored, Served, fast_id
from conveyor.store import Stores

with extra_imports("serve"):
    import xxhash
    from fastapi import APIRouter, FastAPI, Request, Response
    from prometheus_client import CONTENT_TYPE_LATEST
    from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 20 * 2**20
INLINE_DECODE_BYTES = 64 * 1024  # bodies up to this size are decoded on the event loop
MAX_SHADOW_BACKLOG = 10_000  # requests waiting for the shadow model; beyond it the shadow skips (and counts)


@dataclass
class ServeOptions:
    log_predictions: bool = True
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_rows: int = MAX_ROWS
    max_batch_size: int = 64  # rows per model call
    max_wait_ms: float = 2.0  # how long a batch may wait for more requests, only under load
    reload_interval: float = 1.0  # seconds between checks of the served alias
    shadow: str | None = None  # MODEL@ALIAS scored off the hot path, logged with role "shadow"
    canary: str | None = None  # MODEL@ALIAS:PERCENT answering that share of requests, role "canary"
    token: str | None = None  # bearer token required on every endpoint but health and metrics
    platform_url: str | None = None  # a platform server whose identities' tokens are accepted too
    online_store: Callable[[], OnlineStore] | None = None  # opens the store of a model trained on feature views
    runtime: str = "sklearn"  # the model's library, LightGBM trees compiled (and checked) for small batches where
    # they can be; "native": the library's own predict only; "onnx": onnxruntime (exported and checked at load)
    onnx_tolerance: float = 1e-4  # the largest difference from the model the ONNX export may show
    onnx_check: pd.DataFrame | None = None  # rows to check the export on (default: the training dataset's)


def parse_canary(spec: str) -> tuple[str, float]:
    ref, sep, percent = spec.rpartition(":")
    try:
        share = float(percent)
    except ValueError:
        share = -1.0
    if not sep or not ref or not 0 <= share <= 100:
        raise BadInputError(f"Invalid canary {spec!r}.", field="canary",
                            hint="Use MODEL@ALIAS:PERCENT with a percent from 0 to 100, e.g. churn@challenger:10.")
    ModelRef.parse(ref)
    return ref, share


def in_canary(key: str, percent: float) -> bool:
    """A stable choice: the same key always lands on the same side (xxh64, not Python's salted hash)."""
    return xxhash.xxh64_intdigest(key.encode()) % 10_000 < percent * 100


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


class Server:
    """The state behind the routes: the model holders, the prediction log, the batchers, the metrics."""

    def __init__(self, stores: Stores, ref: str, options: ServeOptions, source: ModelSource | None = None) -> None:
        self.stores = stores
        self.options = options
        self.logger = PredictionLogger(stores.predictions) if options.log_predictions else None
        self.metrics = ServerMetrics()
        if self.logger is not None:
            self.metrics.watch_log(lambda: self.logger)
        compile_trees = options.runtime == "sklearn"

        def library_predictor(model: LoadedModel) -> Any:
            return Predictor(model, compile_trees=compile_trees)

        predictor: Callable[[LoadedModel], Any] = library_predictor
        if options.runtime != "sklearn":
            from conveyor.serve.onnx_runtime import check_runtime, onnx_predictor  # deferred: the data layer

            check_runtime(options.runtime)
            if options.runtime == "onnx":
                def predictor(model: LoadedModel) -> Any:
                    return onnx_predictor(stores, model, tolerance=options.onnx_tolerance, check=options.onnx_check)
        self.primary = ModelHolder(stores, ref, self.logger, interval=options.reload_interval, source=source,
                                   predictor=predictor)
        self.canary: ModelHolder | None = None
        self.canary_percent = 0.0
        if options.canary:
            canary_ref, self.canary_percent = parse_canary(options.canary)
            self.canary = ModelHolder(stores, canary_ref, self.logger, role="canary",
                                      interval=options.reload_interval, source=source, predictor=predictor)
        self.shadow = (ModelHolder(stores, options.shadow, self.logger, role="shadow",
                                   interval=options.reload_interval, source=source, predictor=library_predictor)
                       if options.shadow else None)
        self.predict_pool = ThreadPoolExecutor(1, thread_name_prefix="conveyor-predict")
        self.shadow_pool = ThreadPoolExecutor(1, thread_name_prefix="conveyor-shadow") if self.shadow else None
        self.shadow_backlog = 0
        self.shadow_skipped = 0
        self.joins: dict[str, OnlineJoin | None] = {}  # per served version: its online feature join
        for holder in self.holders:
            self.online_join(holder.current)  # a model whose views cannot be served fails at start
        for holder in self.holders:
            served = holder.current
            self.metrics.in_use(holder.role, served.version.name, served.version.version)
            holder.on_swap.append(self._swapped)

    @property
    def holders(self) -> list[ModelHolder]:
        return [h for h in (self.primary, self.canary, self.shadow) if h is not None]

    def _swapped(self, old: Served, fresh: Served) -> None:
        self.metrics.in_use(fresh.role, fresh.version.name, fresh.version.version,
                            previous=old.version.version if old.version.name == fresh.version.name else None)

    def start(self) -> None:
        if self.logger is not None and self.logger.closed:  # an app served again after a shutdown
            self.logger = PredictionLogger(self.stores.predictions)
            for holder in self.holders:
                holder.set_logger(self.logger)
        for holder in self.holders:
            holder.start()

    def stop(self) -> None:
        """Stop following aliases, let shadow scoring finish, then write every pending log record."""
        for holder in self.holders:
            holder.stop()
        if self.shadow_pool is not None:
            self.shadow_pool.shutdown(wait=True)
            self.shadow_pool = ThreadPoolExecutor(1, thread_name_prefix="conveyor-shadow")
        if self.logger is not None:
            self.logger.close()
        for join in self.joins.values():
            if join is not None:
                join.close()

    def online_join(self, served: Served) -> OnlineJoin | None:
        """The online feature join of ``served`` (None when its lineage names no feature view), built once."""
        if served.ref not in self.joins:
            self.joins[served.ref] = online_join_for(self.stores, served.version, self.options.online_store)
        return self.joins[served.ref]

    # choosing the model
    def route(self, key: str | None) -> Served:
        if self.canary is not None and self.canary_percent > 0 and in_canary(key or fast_id(), self.canary_percent):
            return self.canary.current
        return self.primary.current

    def batcher(self, served: Served) -> MicroBatcher:
        batcher = getattr(served, "batcher", None)
        if batcher is None:
            batcher = MicroBatcher(served, max_batch_size=self.options.max_batch_size,
                                   max_wait_ms=self.options.max_wait_ms, executor=self.predict_pool)
            batcher.on_batch.append(self.metrics.batch)
            served.batcher = batcher
        return batcher

    async def score(self, served: Served, inputs: Inputs, started: float, request_id: str) -> Scored:
        scored = await self.score_soon(served, inputs, started, request_id)
        self.after_score(inputs, scored, request_id)
        return scored

    def score_soon(self, served: Served, inputs: Inputs, started: float, request_id: str) -> asyncio.Future:
        """The micro-batcher's future of the request's :class:`Scored`; call :meth:`after_score` once it is done."""
        return self.batcher(served).enqueue(inputs, started, request_id)

    def after_score(self, inputs: Inputs, scored: Scored, request_id: str) -> None:
        self.metrics.predicted(scored.role, len(scored.ids))
        if self.shadow is not None:
            self._shadow(inputs, request_id)

    def _shadow(self, inputs: Inputs, request_id: str) -> None:
        if self.shadow_backlog >= MAX_SHADOW_BACKLOG or self.shadow_pool is None:
            self.shadow_skipped += 1
            self.metrics.errors.labels("shadow_skipped").inc()
            return
        self.shadow_backlog += 1
        try:
            self.shadow_pool.submit(self._score_shadow, inputs, request_id)
        except RuntimeError:  # shutting down
            self.shadow_backlog -= 1

    def _score_shadow(self, inputs: Inputs, request_id: str) -> None:
        assert self.shadow is not None
        served = self.shadow.current
        try:
            scored = served.score(inputs.for_signature(served.inputs, self.options.max_rows), request_id=request_id)
            self.metrics.predicted("shadow", len(scored.ids))
        except Exception as exc:  # the shadow never affects answers; its failures are counted and logged
            self.metrics.errors.labels("shadow").inc()
            log.warning("The shadow model failed on request %s: %s", request_id, exc)
            self._count_shadow_error(served.ref)
        finally:
            self.shadow_backlog -= 1

    def _count_shadow_error(self, ref: str) -> None:
        """A shadow failure as a monitoring sample of the shadowed version: an environment's shadow gate reads it."""
        try:
            self.stores.monitoring.add_samples([Sample(ref, SHADOW_ERRORS, 1.0)])
        except Exception as exc:  # the store being down must not break the shadow thread
            log.warning("Could not record the shadow failure of %s: %s", ref, exc)

    # the two scoring doors, shared by their ASGI handlers and the raw HTTP path (RawScoring)
    def check_v2(self, name: str, number: str | None = None) -> Served:
        served = self.primary.current
        version = served.version
        if name != version.name:
            raise NotFoundError(f"Unknown model {name!r}: this server serves {version.name!r}.", field="model",
                                hint=f"Use /v2/models/{version.name}.")
        if number is not None and number != str(version.version):
            raise NotFoundError(f"Model {name!r} has no version {number!r} on this server; it serves version "
                                f"{version.version}.", field="version", hint=f"Use /v2/models/{version.name}.")
        return served

    def decode_infer(self, body: bytes, content_type: str | None,
                     key: str | None) -> tuple[Served, Inputs, str, list[str]]:
        """A V2 inference body: the model that answers it, its inputs, its request id and the outputs asked for."""
        data = decode_json_body(body, content_type)
        if not isinstance(data, dict):
            raise BadInputError("A V2 inference request must be a JSON object.", field="body",
                                hint='For example {"inputs": [...]}.')
        rid = v2.request_id(data)
        served = self.route(key or rid)
        return served, self.decode_v2(served, data), rid, v2.requested_outputs(data, served)

    def decodes_inline(self, body: bytes, served: Served | None = None) -> bool:
        """Whether a body for ``served`` (a V2 body, routed after decoding: the primary's) is decoded on the event
        loop (small, no online join) rather than on a thread."""
        ref = (served or self.primary.current).ref
        return len(body) <= INLINE_DECODE_BYTES and self.joins.get(ref) is None

    # decoding
    def decode_mlflow(self, served: Served, body: bytes, content_type: str | None) -> Inputs:
        max_rows = self.options.max_rows
        kind = media_type(content_type)
        join = self.online_join(served)
        if join is not None:
            if kind is None or kind in JSON_TYPES or kind.endswith("+json"):
                frame = frame_from_json(decode_json(body), join.request_names, max_rows=max_rows)
            elif kind in PARQUET_TYPES:
                frame = frame_from_parquet(body, max_rows=max_rows)
            elif kind in CSV_TYPES:
                frame = frame_from_csv(body, join.request_inputs, max_rows=max_rows)
            else:
                raise UnsupportedMediaTypeError(f"Unsupported content type {content_type!r}.", field="Content-Type",
                                                hint="Send JSON, CSV or Parquet.")
            return self._joined(served, join, frame)
        if kind is None or kind in JSON_TYPES or kind.endswith("+json"):
            data = decode_json(body)
            if served.predictor.takes_matrix:
                matrix = fast_matrix(data, served.names, max_rows)
                if matrix is not None:
                    return Inputs(served.names, matrix=matrix)
            payload = parse_json_payload(data, served.inputs, max_rows=max_rows)
        elif kind in PARQUET_TYPES:
            payload = conform(frame_from_parquet(body, max_rows=max_rows), served.inputs, max_rows=max_rows)
        else:
            payload = parse_body(body, content_type, served.inputs, max_rows=max_rows)
        return Inputs(served.names or list(payload.frame.columns), frame=payload.frame,
                      ignored_columns=payload.ignored_columns)

    def _joined(self, served: Served, join: OnlineJoin, frame: pd.DataFrame) -> Inputs:
        """Entity rows with their online features, conformed to the model's signature."""
        payload = conform(join.join(frame), served.inputs, max_rows=self.options.max_rows)
        return Inputs(served.names, frame=payload.frame, ignored_columns=payload.ignored_columns)

    def decode_v2(self, served: Served, data: Any) -> Inputs:
        max_rows = self.options.max_rows
        join = self.online_join(served)
        if join is not None:
            return self._joined(served, join, v2.frame_from_v2(data, join.request_names, max_rows=max_rows))
        if served.predictor.takes_matrix:
            matrix = fast_v2_matrix(data, served.names, max_rows)
            if matrix is not None:
                return Inputs(served.names, matrix=matrix)
        frame = v2.frame_from_v2(data, served.names, max_rows=max_rows)
        payload = conform(frame, served.inputs, max_rows=max_rows)
        return Inputs(served.names or list(payload.frame.columns), frame=payload.frame,
                      ignored_columns=payload.ignored_columns)


def create_app(stores: Stores, ref: str, *, options: ServeOptions | None = None, source: ModelSource | None = None,
               **overrides: Any) -> FastAPI:
    """An ASGI app serving the model ``ref`` (``NAME``, ``NAME:N`` or ``NAME@ALIAS``) from ``stores``.

    Options (:class:`ServeOptions`, or its fields as keywords): ``max_body_bytes`` and ``max_rows`` bound one
    request (413 beyond them); ``log_predictions=False`` keeps the prediction log (and so ``/feedback``) out of it;
    ``max_batch_size`` / ``max_wait_ms`` shape micro-batching; ``shadow``, ``canary`` and ``token`` as on the CLI.
    ``source`` says where versions come from (default: ``stores``' registry; a server's for a remote serve).
    """
    options = options or ServeOptions()
    for key, value in overrides.items():
        if not hasattr(options, key):
            raise TypeError(f"create_app() got an unexpected option {key!r}")
        setattr(options, key, value)
    server = Server(stores, ref, options, source)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server.start()
        app.state.prediction_logger = server.logger
        try:
            yield
        finally:
            await asyncio.get_running_loop().run_in_executor(None, server.stop)

    app = ServingApp(title="conveyor model server", version=__version__, summary=f"Serving {server.primary.ref}",
                  lifespan=lifespan, default_response_class=JSONBytes)
    install_error_handlers(app)
    app.state.server = server
    app.state.metrics = server.metrics
    app.state.prediction_logger = server.logger
    mlflow_router, invocations = _mlflow_router(server)
    v2_router, infer = _v2_router(server)
    app.include_router(mlflow_router)
    app.include_router(v2_router)
    app.add_middleware(ScoringFastPath, invocations=invocations, infer=infer, metrics=server.metrics)
    platform = None
    if options.platform_url:
        from conveyor.serve.platform_tokens import PlatformTokens

        platform = PlatformTokens(options.platform_url)
    app.add_middleware(MetricsAndAuth, metrics=server.metrics, token=options.token, platform=platform)
    app.scoring = MetricsAndAuth(ScoringFastPath(None, invocations=invocations, infer=infer, metrics=server.metrics),
                                 metrics=server.metrics, token=options.token, platform=platform)
    app.raw_scoring = RawScoring(server, app.scoring)
    return app


def _headers(scored_or_served: Scored | Served, request_id: str | None = None) -> dict[str, str]:
    if isinstance(scored_or_served, Scored):
        headers = {"X-Model-Version": scored_or_served.model_version, "X-Model-Role": scored_or_served.role}
    else:
        headers = {"X-Model-Version": scored_or_served.ref, "X-Model-Role": scored_or_served.role}
    if request_id:
        headers["X-Request-Id"] = request_id
    return headers


def _request_key(request: Request) -> str | None:
    return request.headers.get("x-request-key") or request.headers.get("x-request-id")


def _answer(scored: Scored, inputs: Inputs, request_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"predictions": scored.predictions, "model_version": scored.model_version,
                              "role": scored.role, "request_id": request_id, "ids": scored.ids,
                              "ignored_columns": inputs.ignored_columns}
    probabilities = scored.probabilities()
    if probabilities is not None:
        answer["probabilities"] = probabilities
    return answer


def _mlflow_router(server: Server) -> tuple[APIRouter, Callable[..., Awaitable[Response]]]:
    router = APIRouter()
    options = server.options

    @router.get("/health")
    @router.get("/ping")
    async def health() -> Response:
        served = server.primary.current
        return JSONBytes({"status": "ok", "model": served.version.name, "model_version": served.ref},
                         headers=_headers(served))

    @router.get("/version")
    async def server_version() -> Response:
        return JSONBytes({"conveyor": __version__, "model_version": server.primary.current.ref})

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(server.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @router.post("/invocations")
    async def invocations(request: Request) -> Response:
        """MLflow scoring: JSON (dataframe_split, dataframe_records, instances, inputs), CSV or Parquet."""
        started = time.perf_counter()
        body = await read_body(request, options.max_body_bytes)
        content_type = request.headers.get("content-type")
        request_id = request.headers.get("x-request-id") or fast_id()
        served = server.route(_request_key(request) or request_id)
        if server.decodes_inline(body, served):
            inputs = server.decode_mlflow(served, body, content_type)
        else:
            inputs = await run_in_threadpool(server.decode_mlflow, served, body, content_type)
        scored = await server.score(served, inputs, started, request_id)
        return JSONBytes(_answer(scored, inputs, request_id), headers=_headers(scored, request_id))

    @router.post("/explain")
    async def explain_rows(request: Request) -> Response:
        """Per-row feature contributions, for a body in any of the /invocations formats."""
        body = await read_body(request, options.max_body_bytes)
        content_type = request.headers.get("content-type")
        served = server.primary.current

        def run() -> dict[str, Any]:
            return explain(served, server.decode_mlflow(served, body, content_type))

        return JSONBytes(await run_in_threadpool(run), headers=_headers(served))

    @router.post("/feedback")
    async def feedback(request: Request) -> Response:
        """Ground truth for earlier predictions, by the ids ``/invocations`` answered with (one or many)."""
        body = await read_body(request, options.max_body_bytes)
        content_type = request.headers.get("content-type")

        def run() -> dict[str, Any]:
            labels = parse_feedback(decode_json_body(body, content_type), max_labels=options.max_rows)
            if server.logger is not None:
                server.logger.flush()  # predictions made an instant ago may still be queued
            missing = server.stores.predictions.add_feedback(labels)
            return {"updated": len(labels) - len(missing), "missing": missing}

        return JSONBytes(await run_in_threadpool(run))

    return router, invocations


def _v2_router(server: Server) -> tuple[APIRouter, Callable[..., Awaitable[Response]]]:
    router = APIRouter(prefix="/v2")
    options = server.options

    check = server.check_v2

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
        served = check(name, number)
        return JSONBytes(v2.model_metadata(served), headers=_headers(served))

    @router.get("/models/{name}/ready")
    @router.get("/models/{name}/versions/{number}/ready")
    async def model_ready(name: str, number: str | None = None) -> Response:
        served = check(name, number)
        return JSONBytes({"name": name, "ready": True}, headers=_headers(served))

    @router.post("/models/{name}/infer")
    @router.post("/models/{name}/versions/{number}/infer")
    async def infer(name: str, request: Request, number: str | None = None) -> Response:
        started = time.perf_counter()
        check(name, number)
        body = await read_body(request, options.max_body_bytes)
        content_type = request.headers.get("content-type")

        key = _request_key(request)
        if server.decodes_inline(body):
            served, inputs, rid, outputs = server.decode_infer(body, content_type, key)
        else:
            served, inputs, rid, outputs = await run_in_threadpool(server.decode_infer, body, content_type, key)
        scored = await server.score(served, inputs, started, rid)
        answer = v2.infer_response(served, scored, rid=rid, outputs=outputs, ignored_columns=inputs.ignored_columns)
        return JSONBytes(answer, headers=_headers(scored, rid))

    return router, infer


def scoring_route(scope: dict) -> tuple[str, dict[str, str]] | None:
    """``("invocations" | "infer", path parameters)`` for a POST to one of the two scoring routes; None otherwise."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    return scoring_path(scope["path"])


def scoring_path(path: str) -> tuple[str, dict[str, str]] | None:
    if path == "/invocations":
        return "invocations", {}
    if path.startswith("/v2/models/") and path.endswith("/infer"):
        parts = path[len("/v2/models/"):-len("/infer")].split("/")
        if len(parts) == 1 and parts[0]:
            return "infer", {"name": parts[0]}
        if len(parts) == 3 and parts[0] and parts[1] == "versions" and parts[2]:
            return "infer", {"name": parts[0], "number": parts[2]}
    return None


_Reply = Callable[[int, list[bytes], bytes], None]  # status, header lines ("name: value\r\n"), body
_JSON_HEADER = b"content-type: application/json\r\n"


class RawScoring:
    """The two scoring routes for :class:`conveyor.serve.raw_http.ScoringHttpProtocol`, which hands over a parsed
    request (path, headers, whole body) and takes back status, headers and body: no ASGI scope, receive/send
    messages, middleware or task per request (~100 us of CPU a request on 32 rows). Every behaviour of the ASGI
    route is kept: auth (decided before the body is read; what cannot be decided at once goes the ASGI way), the
    413 body limit (likewise), request metrics and error counts, the JSON error shapes, the version/role/request-id
    headers, canary routing, shadow scoring, the JSON 500 on an unexpected error."""

    def __init__(self, server: Server, auth: MetricsAndAuth) -> None:
        self.server, self.auth, self.metrics = server, auth, server.metrics
        self.handled = 0  # requests answered this way (tests check the raw path is the one taken)
        self._tasks: set[asyncio.Task] = set()

    def accepts(self, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[str, dict[str, str]] | None:
        """The route of a POST this path answers (its headers complete, its body not read yet); None: ASGI's."""
        route = scoring_path(path)
        if route is None:
            return None
        length = authorization = None
        for name, value in headers:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                return None
            elif name == b"authorization":
                authorization = value
        if length is None or not length.isdigit() or int(length) > self.server.options.max_body_bytes:
            return None  # no declared length (chunked) or too long: ASGI reads it and answers 413 as it goes
        if self.auth.guarded and self.auth.authorised_now(authorization) is not True:
            return None  # refused (ASGI answers the 401 and counts it) or for the platform server to decide
        return route

    def handle(self, route: tuple[str, dict[str, str]], headers: list[tuple[bytes, bytes]], body: bytes,
               reply: _Reply) -> None:
        """Answer through ``reply`` now or later (a done-callback of the micro-batch, or a task for big bodies)."""
        started = time.perf_counter()
        self.handled += 1
        kind, params = route
        endpoint = "/invocations" if kind == "invocations" else "v2/infer"
        content_type = request_id = request_key = None
        for name, value in headers:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name == b"x-request-key":
                request_key = value.decode("latin-1")
        key = request_key or request_id
        server = self.server
        try:
            if kind == "infer":
                server.check_v2(**params)
                if not server.decodes_inline(body):
                    self._later(self._infer_slowly(body, content_type, key, started, endpoint, reply), endpoint,
                                started, reply)
                    return
                served, inputs, rid, outputs = server.decode_infer(body, content_type, key)
            else:
                rid = request_id or fast_id()
                served = server.route(key or rid)
                if not server.decodes_inline(body, served):
                    self._later(self._invocations_slowly(served, body, content_type, rid, started, endpoint, reply),
                                endpoint, started, reply)
                    return
                inputs, outputs = server.decode_mlflow(served, body, content_type), []
            future = server.score_soon(served, inputs, started, rid)
        except Exception as exc:
            self._fail(exc, endpoint, started, reply)
            return
        future.add_done_callback(lambda done: self._scored(done, kind, served, inputs, rid, outputs, started,
                                                           endpoint, reply))

    def _scored(self, future: asyncio.Future, kind: str, served: Served, inputs: Inputs, rid: str,
                outputs: list[str], started: float, endpoint: str, reply: _Reply) -> None:
        try:
            scored = future.result()
            self.server.after_score(inputs, scored, rid)
            self._answer(kind, served, inputs, scored, rid, outputs, started, endpoint, reply)
        except Exception as exc:
            self._fail(exc, endpoint, started, reply)

    def _answer(self, kind: str, served: Served, inputs: Inputs, scored: Scored, rid: str, outputs: list[str],
                started: float, endpoint: str, reply: _Reply) -> None:
        if kind == "infer":
            answer = v2.infer_response(served, scored, rid=rid, outputs=outputs,
                                       ignored_columns=inputs.ignored_columns)
        else:
            answer = _answer(scored, inputs, rid)
        body = render_json(answer)
        reply(200, [_JSON_HEADER, b"x-model-version: %s\r\nx-model-role: %s\r\nx-request-id: %s\r\n"
                    % (scored.model_version.encode(), scored.role.encode(), rid.encode("latin-1"))], body)
        self.metrics.request(endpoint, 200, time.perf_counter() - started)

    def _fail(self, exc: Exception, endpoint: str, started: float, reply: _Reply) -> None:
        body: dict[str, Any]
        if isinstance(exc, ConveyorError):
            status, body = exc.http_status, exc.to_dict()
            self.metrics.errors.labels(exc.code).inc()
        else:  # a bug: the same JSON 500 as the ASGI routes, the traceback in the server log
            log.error("Exception while scoring a request", exc_info=exc)
            status, body = 500, server_error_body(exc)
            self.metrics.errors.labels("internal").inc()
        reply(status, [_JSON_HEADER], render_json(body))
        self.metrics.request(endpoint, status, time.perf_counter() - started)

    def _later(self, work: Awaitable[None], endpoint: str, started: float, reply: _Reply) -> None:
        async def run() -> None:
            try:
                await work
            except Exception as exc:
                self._fail(exc, endpoint, started, reply)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    async def _infer_slowly(self, body: bytes, content_type: str | None, key: str | None, started: float,
                            endpoint: str, reply: _Reply) -> None:
        served, inputs, rid, outputs = await run_in_threadpool(self.server.decode_infer, body, content_type, key)
        scored = await self.server.score(served, inputs, started, rid)
        self._answer("infer", served, inputs, scored, rid, outputs, started, endpoint, reply)

    async def _invocations_slowly(self, served: Served, body: bytes, content_type: str | None, rid: str,
                                  started: float, endpoint: str, reply: _Reply) -> None:
        inputs = await run_in_threadpool(self.server.decode_mlflow, served, body, content_type)
        scored = await self.server.score(served, inputs, started, rid)
        self._answer("invocations", served, inputs, scored, rid, [], started, endpoint, reply)


class ServingApp(FastAPI):
    """The model server's app: the two scoring routes skip FastAPI's own middleware stack (server-error wrapper,
    OpenTelemetry hook, body-limit wrapper, exception middleware: ~30-40 us of CPU a request) and go straight to
    :class:`MetricsAndAuth` and their handlers (:attr:`scoring`). An unexpected error still answers the JSON 500
    that ``install_error_handlers`` gives, and is re-raised for the server log. Everything else goes through
    FastAPI as usual (the same :class:`MetricsAndAuth` and :class:`ScoringFastPath` are in its stack too)."""

    scoring: Any = None  # MetricsAndAuth(ScoringFastPath(...)), set by create_app
    raw_scoring: RawScoring | None = None  # what conveyor.serve.raw_http's protocol answers the scoring routes with

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:  # type: ignore[override]
        if self.scoring is None or scoring_route(scope) is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.scoring(scope, receive, tracking_send)
        except Exception as exc:
            if not started:
                response = await server_error(Request(scope, receive), exc)
                await response(scope, receive, send)
            raise


class ScoringFastPath:
    """Sends the two scoring routes straight to their handlers.

    FastAPI's router, dependency solving and exception middleware cost about as much CPU as a whole native predict
    on a small request; the scoring handlers take a plain Request and need none of it. Every other path (and the
    OpenAPI document, which still lists these two) goes through FastAPI as usual.
    """

    def __init__(self, app: Any, invocations: Any, infer: Any, metrics: ServerMetrics) -> None:
        self.app, self.invocations, self.infer, self.metrics = app, invocations, infer, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        route = scoring_route(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        kind, params = route
        await self._call(scope, receive, send, self.invocations if kind == "invocations" else self.infer, **params)

    async def _call(self, scope: dict, receive: Any, send: Any, handler: Any, **params: str) -> None:
        request = Request(scope, receive)
        try:
            response = await handler(request=request, **params)
        except ConveyorError as exc:
            self.metrics.errors.labels(exc.code).inc()
            response = error_response(exc.http_status, exc.to_dict())
        await response(scope, receive, send)
