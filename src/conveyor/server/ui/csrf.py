"""CSRF protection for the UI's forms: the double-submit cookie. Every page sets a random token in a SameSite=Strict,
HttpOnly cookie and puts the same token into its forms; a POST is accepted only when the form's ``csrf`` field
equals the cookie (and an Origin header, when the browser sends one, names this host). Another site can neither read
the cookie nor make the browser send it (SameSite=Strict), so it cannot forge the pair."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

COOKIE = "conveyor_csrf"
FIELD = "csrf"


def token_for(request: Request) -> str:
    """The request's token: the cookie's, else a new one (set on the response by :func:`remember`)."""
    found = request.cookies.get(COOKIE, "")
    return found if len(found) >= 32 else secrets.token_urlsafe(32)


def remember(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(COOKIE) != token:
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")


def check(request: Request, form: dict[str, str]) -> str | None:
    """Why the form is refused, or None when its token matches the cookie."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        return f"the form came from another site ({origin})"
    cookie, sent = request.cookies.get(COOKIE, ""), form.get(FIELD, "")
    if not cookie or not sent:
        return "the form carries no CSRF token (reload the page and submit again)"
    if not hmac.compare_digest(cookie.encode(), sent.encode()):
        return "the form's CSRF token does not match this browser's (reload the page and submit again)"
    return None
