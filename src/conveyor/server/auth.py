"""Authentication and roles on every ``/api/v1`` route of the platform server.

Each route declares what it does with one FastAPI dependency: ``requires(ACTION)`` (an action of the roles matrix,
:data:`conveyor.security.ACTIONS`), optionally naming the model or dataset it acts on so per-object grants count
(``requires("models.promote", model="name")`` reads the path parameter ``name``; ``dataset="body.name"`` the JSON
body's ``name``; a callable ``(request, project) -> name`` anything else), or :func:`public` (``/health`` only).
A route that declares neither fails the route matrix test (tests/server/test_server_auth_matrix.py).

Once an identity exists (:func:`conveyor.security.authentication_on`) every declared route needs
``Authorization: Bearer TOKEN``: a missing or bad token is 401 (the error tree's body, naming how to get a token),
an address that sent too many bad tokens is 429 with Retry-After (:class:`~conveyor.security.FailureThrottle`), as
is a token or address over ``security.rate_limit``. The request then runs as that identity
(:func:`conveyor.core.actors.set_actor`): every record it writes names it. A role that may not do the action is
403, unless it may not even read the object, in which case the answer is the same 404 an unknown object gets: the
decision is made from the role and grants alone, before the object is looked up, so it never tells a caller whether
an object exists. With no identities nothing changes: no token is asked for and the actor is the local user.

"Is authentication on?" is asked on every request, but it costs a database round trip only now and then: once on,
it stays on (identities are never deleted); while off, the answer is kept for ``auth_recheck`` seconds (default
:data:`AUTH_RECHECK_SECONDS`). An identity or token added in this process, through any store object
(:func:`conveyor.store.identities.identity_generation`), turns it on for the very next request; one added by
another process (`conveyor users add` beside a running server) counts within ``auth_recheck`` seconds.

Auth failures, refusals and every mutating request go to the access log (``.conveyor/access.log``, batched JSON
lines); model downloads are audited (the hash-chained trail). Every request feeds the security signals
(:mod:`conveyor.security.anomalies`), which become alerts through the alert rules (:class:`Gate.observe`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from conveyor.core.actors import set_actor
from conveyor.core.errors import AuthenticationError, NotFoundError, PermissionDeniedError, ThrottledError
from conveyor.core.settings import STATE_DIR
from conveyor.security import ACTIONS, FailureThrottle, allowed, allowed_on, authenticate, authentication_on
from conveyor.security.access_log import AccessLog
from conveyor.security.anomalies import SUBJECT, SecuritySignals, security_rules
from conveyor.security.ratelimit import RateLimiter, throttled
from conveyor.server.limits import json_body
from conveyor.store.identities import Identity, identity_generation

if TYPE_CHECKING:
    from conveyor.project import Project

__all__ = ["PUBLIC", "Gate", "action_of", "api_routes", "bearer", "downloaded", "gate_of", "public", "requires"]

PUBLIC = "public"
ACTION_ATTR = "conveyor_action"
HOW_TO_GET_A_TOKEN = ("Send Authorization: Bearer TOKEN. An admin makes one with `conveyor users add NAME --role "
                      "ROLE` (or you with `conveyor tokens create`); the CLI reads CONVEYOR_TOKEN or `conveyor login "
                      "URL`, the web UI asks for it at /login.")
Target = str | Callable[[Request, Any], str | None] | None
AUTH_RECHECK_SECONDS = 2.0  # how stale "no identities yet" may be when another process adds the first one


class Gate:
    """The server's front door for one project: who a request is, whether it may, and what it leaves behind."""

    def __init__(self, project: Project, *, observe_every: float = 10.0,
                 auth_recheck: float = AUTH_RECHECK_SECONDS) -> None:
        security = project.config.security
        self.project = project
        self.stores = project.stores
        self.throttle = FailureThrottle(security.rate_limit.failures, 60.0)
        self.per_token = RateLimiter(security.rate_limit.per_token, what="token")
        self.per_address = RateLimiter(security.rate_limit.per_address, what="address")
        self.signals = SecuritySignals(security.anomalies.window)
        self.access = AccessLog(project.root / STATE_DIR / "access.log")
        self.observe_every = observe_every
        self._anomalies = security.anomalies
        self.auth_recheck = auth_recheck
        self._on = False
        self._off_until = -1.0  # monotonic time until which "off" holds without asking the store
        self._off_generation = -1  # this process's identity generation when "off" was last read from the store
        self._observed = time.monotonic()
        self._observing = threading.Lock()

    def on(self) -> bool:
        """Is authentication on? Once true it stays true (identities are never deleted), so it is asked once;
        "off" is asked again after ``auth_recheck`` seconds, or at once when this process adds an identity."""
        if self._on or self.known_off():
            return self._on
        generation = identity_generation()  # before the query: an identity added during it forces another
        self._on = authentication_on(self.stores)
        self._off_generation = generation
        self._off_until = time.monotonic() + self.auth_recheck
        return self._on

    def known_off(self) -> bool:
        """Authentication is off and that answer is fresh: no store round trip (nor thread hop) is needed."""
        return (not self._on and self._off_generation == identity_generation()
                and time.monotonic() < self._off_until)

    def identify(self, source: str, token: str | None) -> Identity | None:
        """The identity of ``token`` (None while authentication is off); 401/429 otherwise, logged."""
        if not self.on():
            return None
        self.per_address.hit(f"ip:{source}")
        if not token:
            self.access.record("auth.missing", source=source)
            raise AuthenticationError("This server needs a token: authentication is on.", field="token",
                                      hint=HOW_TO_GET_A_TOKEN)
        try:
            identity = authenticate(self.stores, token, throttle=self.throttle, source=source)
        except ThrottledError as exc:
            self.access.record("auth.throttled", source=source)
            raise throttled(exc.message, self.throttle.window, field="token", hint=exc.hint or "") from None
        except AuthenticationError as exc:
            self.access.record("auth.failure", source=source)
            self.signals.auth_failure(source)
            raise AuthenticationError(exc.message, field="token", hint=HOW_TO_GET_A_TOKEN) from None
        self.per_token.hit("tok:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest())
        return identity

    def permit(self, identity: Identity | None, action: str, kind: str | None, name: str | None, *,
               source: str, method: str, path: str) -> None:
        """Raise unless ``identity`` may do ``action`` (on ``kind`` ``name``); log mutating requests."""
        if identity is not None:
            grants = [] if allowed(identity.role, action) else self.stores.identities.grants(identity.name)
            if not allowed_on(identity.role, grants, action, kind, name):
                self.access.record("denied", actor=identity.name, action=action, method=method, path=path,
                                   source=source)
                if not allowed_on(identity.role, grants, "read", kind, name):
                    raise NotFoundError(f"No {kind or 'object'} {name!r} here." if name else "Not found.",
                                        field=kind or "path")
                who = " or ".join(sorted(ACTIONS[action]))
                raise PermissionDeniedError(f"{identity.name!r} ({identity.role}) may not do {action}"
                                            + (f" on {kind} {name!r}." if name else "."), field="role",
                                            hint=f"Ask an admin: {action} needs the role {who}"
                                                 + (f" or a grant on this {kind}." if kind else "."))
        if method not in ("GET", "HEAD", "OPTIONS"):
            self.access.record("request", actor=identity.name if identity else None, action=action, method=method,
                               path=path, source=source)

    def observation_due(self) -> bool:
        return time.monotonic() - self._observed >= self.observe_every

    def observe(self, *, force: bool = False) -> list[Any]:
        """Store the security signals as samples of subject ``security`` and evaluate the security alert rules
        (the ``security.anomalies`` thresholds and every ``alerts:`` rule on that subject) at most every
        ``observe_every`` seconds; the alerts raised or repeated."""
        if not force and not self.observation_due():
            return []
        if not self._observing.acquire(blocking=False):
            return []
        try:
            self._observed = time.monotonic()
            self.access.flush()
            return self._evaluate()
        finally:
            self._observing.release()

    def _evaluate(self) -> list[Any]:
        from conveyor.core.config.sections.alerts import AlertsSection
        from conveyor.monitor import alerts as alerting
        from conveyor.project._options import alert_settings

        self.stores.monitoring.add_samples(self.signals.samples())
        settings = alert_settings(self.project)
        built_in = alerting.parse_rules(AlertsSection.parse({"rules": security_rules(self._anomalies)}, "alerts"))
        rules = built_in + [r for r in alerting.parse_rules(self.project.config.alerts) if r.subject == SUBJECT]
        return alerting.evaluate(self.stores.monitoring, rules, SUBJECT, settings)

    def close(self) -> None:
        self.access.close()


def gate_of(request: Request) -> Gate:
    return request.app.state.gate


def bearer(request: Request) -> str | None:
    """The token of ``Authorization: Bearer TOKEN`` (None without one)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def source_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _identity(request: Request) -> Identity | None:
    """The request's identity, authenticated once per request (several dependencies may ask)."""
    if not hasattr(request.state, "identity"):
        gate = gate_of(request)
        source = source_of(request)
        # with authentication known to be off, no store is asked: no need to leave the event loop
        identity = None if gate.known_off() else await run_in_threadpool(gate.identify, source, bearer(request))
        request.state.identity = identity
        gate.signals.request(source, identity.name if identity else None)
        if gate.observation_due():
            await run_in_threadpool(gate.observe)
    return request.state.identity


def _target_name(target: Target, request: Request, body: dict[str, Any] | None) -> str | None:
    if target is None:
        return None
    if callable(target):
        return target(request, request.app.state.project)
    value = (body or {}).get(target[5:]) if target.startswith("body.") else request.path_params.get(target)
    return value.split("@")[0].split(":")[0] if isinstance(value, str) and value else None


class _Check:
    """The dependency ``requires`` returns (its ``conveyor_action`` is what the route matrix test reads)."""

    def __init__(self, action: str, kind: str | None, target: Target) -> None:
        if action not in ACTIONS:
            raise ValueError(f"No permission rule for action {action!r}; known: {', '.join(sorted(ACTIONS))}.")
        self.conveyor_action, self.kind, self.target = action, kind, target

    async def authorize(self, request: Request, body: dict[str, Any] | None) -> Identity | None:
        identity = await _identity(request)
        gate, action = gate_of(request), self.conveyor_action
        where = {"source": source_of(request), "method": request.method, "path": request.url.path}
        if identity is not None and not allowed(identity.role, action):  # grants (and the store) decide
            name = await run_in_threadpool(_target_name, self.target, request, body)
            await run_in_threadpool(gate.permit, identity, action, self.kind, name, **where)
        else:
            gate.permit(identity, action, self.kind, None, **where)
        set_actor(identity.name if identity is not None else None)  # the request task's context: its records
        return identity


class _PathCheck(_Check):
    async def __call__(self, request: Request) -> Identity | None:
        return await self.authorize(request, None)


class _BodyCheck(_Check):
    async def __call__(self, request: Request, body: dict[str, Any] = Depends(json_body)) -> Identity | None:
        return await self.authorize(request, body)


def requires(action: str, *, model: Target = None, dataset: Target = None) -> Any:
    """A route's permission: ``Depends`` on a check that authenticates the caller (once authentication is on) and
    asks the roles matrix whether it may do ``action``; the dependency's value is the caller's Identity (None while
    authentication is off). ``model``/``dataset`` name the object for per-object grants: a path parameter, ``body.KEY``
    of the JSON body, or a callable ``(request, project) -> name``."""
    if model is not None and dataset is not None:
        raise ValueError("A route acts on one object: a model or a dataset.")
    kind = "model" if model is not None else "dataset" if dataset is not None else None
    target = model if model is not None else dataset
    uses_body = isinstance(target, str) and target.startswith("body.")
    return Depends((_BodyCheck if uses_body else _PathCheck)(action, kind, target))


class _Public:
    conveyor_action = PUBLIC

    async def __call__(self, request: Request) -> None:
        gate = gate_of(request)
        if gate.on():
            gate.per_address.hit(f"ip:{source_of(request)}")
        return None


def public() -> Any:
    """A route open to everyone, even with authentication on (``/health``); still rate-limited per address."""
    return Depends(_Public())


def action_of(route: Any) -> list[str]:
    """The actions a route declares (``public`` included), read from its dependencies: what the matrix test walks."""
    found = []
    for dependency in route.dependant.dependencies:
        action = getattr(dependency.call, ACTION_ATTR, None)
        if action is not None:
            found.append(action)
    return found


def api_routes(app: Any) -> list[tuple[str, str, Any]]:
    """Every (method, full path, APIRoute) of ``app`` under ``/api``, read from its router (included routers
    walked): what the route matrix test checks."""
    from fastapi.routing import APIRoute, iter_route_contexts

    found: list[tuple[str, str, Any]] = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if isinstance(context.route, APIRoute) and path.startswith("/api"):
            found.extend((method, path, context.route) for method in sorted(context.route.methods or ()))
    return found


def downloaded(request: Request, what: str, ref: str, size: int) -> None:
    """Count a download toward the security signals; a model's is audited (``model.download``) too."""
    gate = gate_of(request)
    identity = getattr(request.state, "identity", None)
    actor = identity.name if identity is not None else None
    gate.signals.download(f"{what}:{ref}", actor)
    if what == "model":
        from conveyor.registry.models import current_actor

        gate.stores.registry.append_audit(actor or current_actor(), "model.download", ref,
                                          {"bytes": size, "source": source_of(request)})
