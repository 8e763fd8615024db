"""Prometheus metrics and bearer-token auth, as one thin ASGI middleware (Starlette's BaseHTTPMiddleware would
cost more per request than a whole native predict).

Metrics live in a registry of the app's own, so two apps in one process (tests) never share counters:
``conveyor_requests_total{endpoint,status}``, ``conveyor_request_seconds{endpoint}`` (histogram),
``conveyor_errors_total{kind}``, ``conveyor_batch_rows`` and ``conveyor_batch_requests`` (histograms),
``conveyor_predictions_total{role}`` and ``conveyor_model_info{role,model,version}`` (1 for the version in use);
with the prediction log on, ``conveyor_prediction_log_rows_total{outcome}`` (``written`` or ``dropped``) and
``conveyor_prediction_log_backlog`` (rows queued, not yet written), read from the logger at each scrape.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import orjson

from conveyor.core.dependencies import extra_imports

with extra_imports("serve"):
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

OPEN_PATHS = frozenset({"/health", "/v2/health/live", "/v2/health/ready", "/metrics"})
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


def endpoint_of(path: str) -> str:
    """A label of few values: the route, not the raw path (model names in V2 paths would explode cardinality)."""
    if path.startswith("/v2/models/"):
        for suffix in ("/infer", "/ready"):
            if path.endswith(suffix):
                return "v2" + suffix
        return "v2/metadata"
    if path in ("/invocations", "/explain", "/feedback", "/health", "/metrics", "/v2/health/live",
                "/v2/health/ready", "/v2", "/ping", "/version"):
        return path
    return "other"


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("conveyor_requests", "HTTP requests answered.", ["endpoint", "status"],
                                registry=self.registry)
        self.latency = Histogram("conveyor_request_seconds", "Time to answer a request.", ["endpoint"],
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("conveyor_errors", "Requests answered with an error, by kind.", ["kind"],
                              registry=self.registry)
        self.batch_rows = Histogram("conveyor_batch_rows", "Rows per model call (micro-batch).",
                                    buckets=_BATCH_BUCKETS, registry=self.registry)
        self.batch_requests = Histogram("conveyor_batch_requests", "Requests per model call (micro-batch).",
                                        buckets=_BATCH_BUCKETS, registry=self.registry)
        self.predictions = Counter("conveyor_predictions", "Rows predicted, by the role of the model.", ["role"],
                                   registry=self.registry)
        self.model_info = Gauge("conveyor_model_info", "The model version in use (1) per role.",
                                ["role", "model", "version"], registry=self.registry)
        self.reloads = Counter("conveyor_model_reloads", "Hot reloads to a new model version.", ["role"],
                               registry=self.registry)
        self._children: dict[object, Any] = {}  # labels() costs microseconds; requests reuse the labelled series

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        key = (endpoint, status)
        pair = self._children.get(key)
        if pair is None:
            pair = self._children[key] = (self.requests.labels(endpoint, str(status)),
                                          self.latency.labels(endpoint))
        pair[0].inc()
        pair[1].observe(seconds)

    def predicted(self, role: str, rows: int) -> None:
        child = self._children.get(role)
        if child is None:
            child = self._children[role] = self.predictions.labels(role)
        child.inc(rows)

    def batch(self, rows: int, requests: int) -> None:
        self.batch_rows.observe(rows)
        self.batch_requests.observe(requests)

    def in_use(self, role: str, name: str, version: int, previous: int | None = None) -> None:
        if previous is not None:
            self.model_info.labels(role, name, str(previous)).set(0)
            self.reloads.labels(role).inc()
        self.model_info.labels(role, name, str(version)).set(1)

    def watch_log(self, logger: Callable[[], Any]) -> None:
        """Report the prediction logger ``logger()`` returns (the current one: a restarted app makes a new one)."""
        self.registry.register(_LogCollector(logger))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LogCollector:
    def __init__(self, logger: Callable[[], Any]) -> None:
        self.logger = logger

    def collect(self) -> Iterator[Any]:
        current = self.logger()
        if current is None:
            return
        rows = CounterMetricFamily("conveyor_prediction_log_rows", "Prediction log rows, written or dropped.",
                                   labels=["outcome"])
        rows.add_metric(["written"], current.stats.written)
        rows.add_metric(["dropped"], current.stats.dropped)
        yield rows
        yield GaugeMetricFamily("conveyor_prediction_log_backlog", "Prediction log rows queued, not yet written.",
                                value=current.backlog())


class MetricsAndAuth:
    """Counts and times every request; with a token, refuses requests without ``Authorization: Bearer TOKEN``
    (health and metrics stay open for probes and scrapers)."""

    def __init__(self, app: Any, metrics: ServerMetrics, token: str | None = None, platform: Any = None) -> None:
        self.app = app
        self.metrics = metrics
        self.token = token.encode() if token else None
        self.platform = platform  # PlatformTokens: a platform server's identities may call too

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        endpoint = endpoint_of(path)
        status = 500
        if self.guarded and path not in OPEN_PATHS and not await self._authorised(scope):
            self.metrics.errors.labels("unauthorized").inc()
            self.metrics.request(endpoint, 401, time.perf_counter() - started)
            await _unauthorised(send)
            return

        async def counting_send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.metrics.request(endpoint, status, time.perf_counter() - started)

    @property
    def guarded(self) -> bool:
        return self.token is not None or self.platform is not None

    def authorised_now(self, authorization: bytes | None) -> bool | None:
        """The verdict on an ``Authorization`` header value without waiting: None when only the platform server
        can say (a platform token not in its cache)."""
        if authorization is None:
            return False
        scheme, _, given = authorization.partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        given = given.strip()
        if self.token is not None and hmac.compare_digest(given, self.token):
            return True
        if self.platform is None:
            return False
        known = self.platform.cached(given.decode("utf-8", "replace"))
        return None if known is None else bool(known)

    async def _authorised(self, scope: dict) -> bool:
        value = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        verdict = self.authorised_now(value)
        if verdict is not None:
            return verdict
        assert value is not None
        token = value.partition(b" ")[2].strip().decode("utf-8", "replace")
        return bool(await anyio.to_thread.run_sync(self.platform.check, token))


async def _unauthorised(send: Any) -> None:
    body = orjson.dumps({"error": "unauthorized", "message": "This server needs a bearer token.",
                         "field": "Authorization", "hint": "Send 'Authorization: Bearer TOKEN'."})
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b"Bearer")]})
    await send({"type": "http.response.body", "body": body})
