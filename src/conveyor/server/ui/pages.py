"""What every page handler shares: rendering a template of the UI with the project, the URL prefix and the CSRF
token; errors from the one error tree as an error page with their HTTP status; and reading a posted form."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conveyor.core.errors import ConveyorError, NotFoundError
from conveyor.render import environment
from conveyor.server.ui import csrf

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 64 * 1024
log = logging.getLogger("conveyor.server.ui")


class Pages:
    """The UI of one project under ``prefix`` ("" for the site root)."""

    def __init__(self, project: Any, prefix: str = "") -> None:
        self.project = project
        self.prefix = prefix.rstrip("/")
        self.env = environment([TEMPLATES])

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        token = csrf.token_for(request)
        body = self.env.get_template(template).render(
            inline=False, static_url=f"{self.prefix}/static", root=self.prefix, csrf=token,
            project_name=self.project.config.name or self.project.root.name, nav=template.split(".")[0],
            user=getattr(request.state, "ui_user", None), **context)
        response = HTMLResponse(body, status_code=status)
        csrf.remember(request, response, token)
        return response

    def error(self, request: Request, exc: ConveyorError | Exception, status: int) -> HTMLResponse:
        kind = "Not found" if status == 404 else "Cannot show this page" if status < 500 else "Server error"
        hint = getattr(exc, "hint", None)
        return self.render(request, "error.html", status=status, title=kind, message=str(exc), hint=hint)

    def redirect(self, path: str, **flash: str) -> RedirectResponse:
        query = urlencode(flash)
        return RedirectResponse(f"{self.prefix}{path}{'?' + query if query else ''}", status_code=303)

    async def form(self, request: Request) -> tuple[dict[str, str], str | None]:
        """The posted urlencoded form and why it is refused (None: its CSRF token checks out)."""
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return {}, "the form is too large"
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return fields, csrf.check(request, fields)

    def page(self, handler: Callable[..., Any]) -> Callable[..., Awaitable[Response]]:
        """Wrap a handler: an error of the one error tree becomes an error page with its HTTP status, never a
        traceback or a 500."""

        @functools.wraps(handler)
        async def wrapped(request: Request, *args: Any, **kwargs: Any) -> Response:
            try:
                if inspect.iscoroutinefunction(handler):
                    return await handler(request, *args, **kwargs)
                # a page that reads the stores runs in the thread pool, so it never stalls the server's event loop
                return await run_in_threadpool(handler, request, *args, **kwargs)
            except ConveyorError as exc:
                return self.error(request, exc, exc.http_status)
            except KeyError as exc:  # an unknown name looked up in a mapping the page reads
                return self.error(request, NotFoundError(f"Not found: {exc}."), 404)
            except Exception as exc:  # a bug: logged with its traceback, the reader gets a page without one
                log.exception("the UI page %s failed", request.url.path)
                return self.error(request, RuntimeError(f"{type(exc).__name__}: this page failed; the server log "
                                                        "has the details."), 500)

        return wrapped
