"""Store URLs: their scheme, and a form safe to show (credentials masked) in every message."""

from __future__ import annotations

import re
from urllib.parse import unquote

_AUTHORITY = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#]*)@")
_SECRET_PARAMS = re.compile(r"(?i)([?&;](?:password|passwd|pwd|secret|token|key|access_key|secret_key|"
                            r"aws_secret_access_key|sslpassword)=)[^&;#]*")


def scheme_of(url: str) -> str:
    """The URL's scheme, driver included and lower-cased (``postgresql+psycopg``); ``file`` for a plain path."""
    return url.split("://", 1)[0].lower() if "://" in url else "file"


def mask(url: str) -> str:
    """``url`` with its password (and secret query parameters) replaced by ``***``: the form every message shows."""

    def hide(match: re.Match[str]) -> str:
        user, colon, _password = match["userinfo"].partition(":")
        return f"{match['scheme']}{user}{':***' if colon else ''}@"

    return _SECRET_PARAMS.sub(r"\1***", _AUTHORITY.sub(hide, url, count=1))


def redact(text: str, url: str) -> str:
    """``text`` (say, a driver's error message) with the password of ``url`` removed, in whatever form it appears."""
    match = _AUTHORITY.match(url)
    if match is None:
        return text
    _user, colon, password = match["userinfo"].partition(":")
    for secret in {password, unquote(password)} if colon and password else ():
        text = text.replace(secret, "***")
    return text
