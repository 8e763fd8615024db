"""The web UI's login: a token typed into a form becomes a session cookie; every page asks for it once
authentication is on.

* ``GET /login`` shows the form (a password field for the token, the CSRF token, where to go next);
  ``POST /login`` checks the CSRF token and the API token (through the server's :class:`~conveyor.server.auth.Gate`:
  the same failure throttle, access log and security signals as the API) and sets the session cookie;
  ``POST /logout`` (CSRF-checked) clears it.
* The cookie ``conveyor_session`` is HttpOnly, SameSite=Strict, Secure when the server speaks TLS, and lasts
  :data:`SESSION_S`. Its value is the identity, the token's public id and the expiry, signed with HMAC-SHA256 under
  a key kept in ``.conveyor/session.key`` (made on first use, mode 0600), so every worker process of one server
  accepts it. Each request checks the signature, the expiry and that the token and its identity are still active:
  revoking a token ends its sessions.
* :func:`ui_session` is the dependency of every page: without a session it sends the browser to the login form
  (a form POST is refused); with one it checks the page's action with the roles matrix (``read`` for a page, the
  form's own action for a POST: :data:`FORM_ACTIONS`) and acts as that identity, so an acknowledgement or a
  promotion from the UI names who did it. With no identities nothing changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from conveyor.core.actors import set_actor
from conveyor.core.errors import AuthenticationError, ConveyorError, PermissionDeniedError
from conveyor.core.settings import STATE_DIR
from conveyor.server.auth import Gate, source_of
from conveyor.store.identities import Identity

__all__ = ["COOKIE", "FORM_ACTIONS", "SESSION_S", "LoginRequired", "Sessions", "install_sessions", "ui_session"]

COOKIE = "conveyor_session"
SESSION_S = 8 * 3600
#: (method, route path) of each UI form -> (action, path parameter naming its model or None)
FORM_ACTIONS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("POST", "/alerts/{alert_id}/ack"): ("monitor.write", None),
    ("POST", "/models/{name}/promote"): ("models.promote", "name"),
}


class LoginRequired(Exception):
    """No valid session: a page answers with the login form's address."""


class UIRefused(Exception):
    """A signed-in identity may not do what the page or form does."""

    def __init__(self, error: ConveyorError) -> None:
        super().__init__(str(error))
        self.error = error


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Signed session cookies of one project."""

    def __init__(self, root: Path, lifetime: float = SESSION_S) -> None:
        self.key = _session_key(root / STATE_DIR / "session.key")
        self.lifetime = lifetime

    def issue(self, identity: str, token_id: str, at: float | None = None) -> str:
        payload = _b64(json.dumps({"id": identity, "tok": token_id,
                                   "exp": (time.time() if at is None else at) + self.lifetime}).encode())
        return f"{payload}.{self._sign(payload)}"

    def read(self, cookie: str | None, at: float | None = None) -> dict[str, Any] | None:
        """The session's fields, or None when the cookie is missing, forged or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            fields = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(fields, dict) or fields.get("exp", 0) < (time.time() if at is None else at):
            return None
        return fields

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode(), hashlib.sha256).digest())


def _session_key(path: Path) -> bytes:
    """The project's session key, made once (mode 0600; the first of several workers to start wins)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(32))
    return path.read_bytes()


def _identity_of(gate: Gate, session: dict[str, Any]) -> Identity | None:
    """The session's identity while it and the token it logged in with are still active."""
    identity = gate.stores.identities.get_identity(str(session.get("id", "")))
    if identity is None or not identity.active:
        return None
    token = next((t for t in gate.stores.identities.tokens(identity.name) if t.id == session.get("tok")), None)
    return identity if token is not None and token.usable(time.time()) else None


async def ui_session(request: Request) -> Identity | None:
    """Every UI page's dependency (see the module's doc)."""
    gate: Gate | None = getattr(request.app.state, "gate", None)
    if gate is None or not await run_in_threadpool(gate.on):
        set_actor(None)
        return None
    sessions: Sessions = request.app.state.sessions
    session = sessions.read(request.cookies.get(COOKIE))
    identity = await run_in_threadpool(_identity_of, gate, session) if session else None
    if identity is None:
        raise LoginRequired()
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    action, param = ("read", None) if request.method in ("GET", "HEAD") else \
        FORM_ACTIONS.get((request.method, path), ("settings.write", None))  # an unlisted form: admins only
    name = request.path_params.get(param) if param else None
    try:
        await run_in_threadpool(gate.permit, identity, action, "model" if param else None, name,
                                source=source_of(request), method=request.method, path=request.url.path)
    except ConveyorError as exc:
        raise UIRefused(exc) from None
    request.state.ui_user = identity.name
    set_actor(identity.name)
    return identity


def _next(value: str) -> str:
    """Only a path of this site (never another host) to go to after the login."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


def install_sessions(app: FastAPI, pages: Any) -> APIRouter:
    """The login and logout routes, and the handlers that turn a missing session into the login form and a refusal
    into an error page; returns the router (mounted by ``mount_ui``, outside the session check)."""
    app.state.sessions = Sessions(pages.project.root)
    router = APIRouter()

    async def login_required(request: Request, exc: Exception) -> Response:
        if request.method in ("GET", "HEAD"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{pages.prefix}/login?next={quote(target)}", status_code=303)
        return pages.render(request, "login.html", status=401, title="Sign in", next="/",
                            failed="Sign in again: your session ended before this form was sent.")

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UIRefused)
        return pages.error(request, exc.error, exc.error.http_status)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(UIRefused, refused)

    @router.get("/login")
    async def login_form(request: Request, next: str = "/") -> Response:
        return pages.render(request, "login.html", title="Sign in", next=_next(next), failed="")

    @router.post("/login")
    async def login(request: Request) -> Response:
        form, bad_form = await pages.form(request)
        where = _next(form.get("next", "/"))
        if bad_form:
            return pages.render(request, "login.html", status=403, title="Sign in", next=where, failed=bad_form)
        gate: Gate = request.app.state.gate
        token = form.get("token", "").strip()
        try:
            identity = await run_in_threadpool(gate.identify, source_of(request), token or None)
        except AuthenticationError as exc:  # a throttled address included (429)
            return pages.render(request, "login.html", status=exc.http_status, title="Sign in", next=where,
                                failed=exc.message)
        if identity is None:  # authentication is off: nothing to sign in to
            return RedirectResponse(f"{pages.prefix}{where}", status_code=303)
        token_id = await run_in_threadpool(_token_id, gate, identity, token)
        response = RedirectResponse(f"{pages.prefix}{where}", status_code=303)
        response.set_cookie(COOKIE, request.app.state.sessions.issue(identity.name, token_id),
                            max_age=int(SESSION_S), httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        gate.access.record("ui.login", actor=identity.name, source=source_of(request))
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        _form, bad_form = await pages.form(request)
        if bad_form:
            return pages.error(request, PermissionDeniedError(bad_form), 403)
        response = RedirectResponse(f"{pages.prefix}/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
        return response

    return router


def _token_id(gate: Gate, identity: Identity, token: str) -> str:
    from conveyor.security.identities import hash_token

    record = gate.stores.identities.token_by_hash(hash_token(token))
    return record.id if record is not None else ""
