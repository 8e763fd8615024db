"""TLS for every HTTP server conveyor runs (``conveyor serve``, ``conveyor server``): one place that reads and checks
``--tls-cert``/``--tls-key`` and turns them into uvicorn's settings.

    tls = tls_options(cert, key)          # None when neither is given; BadInputError (exit 2) naming the flag
    uvicorn.Config(app, **tls.uvicorn())  # ssl_certfile / ssl_keyfile
    url = f"{tls.scheme}://..."

The certificate and key are loaded before the server starts (so a wrong path, a key that is not the certificate's,
or an expired certificate is one line at startup, not a handshake failure for every client later).
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.core.errors import BadInputError

__all__ = ["TlsOptions", "scheme_of", "tls_options"]


@dataclass(frozen=True)
class TlsOptions:
    """A checked certificate chain (PEM) and its private key (PEM)."""

    cert: Path
    key: Path

    scheme = "https"

    def uvicorn(self) -> dict[str, Any]:
        """Keyword arguments of ``uvicorn.Config``."""
        return {"ssl_certfile": str(self.cert), "ssl_keyfile": str(self.key)}

    def server_context(self) -> ssl.SSLContext:
        """A server-side context (TLS 1.2 or later) for servers that are not uvicorn."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def scheme_of(tls: TlsOptions | None) -> str:
    return "https" if tls is not None else "http"


def _readable(path: Path | str, field: str, what: str) -> Path:
    path = Path(path).expanduser()
    if "\x00" in str(path):
        raise BadInputError(f"The {what} path contains a NUL byte.", field=field, hint="Pass a plain file path.")
    if not path.is_file():
        raise BadInputError(f"No {what} file at {path}.", field=field, hint=f"Pass the path of a PEM {what} file.")
    try:
        path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"Cannot read the {what} file {path}: {exc.strerror or exc}.", field=field,
                            hint="Make it readable by the server's user.") from None
    return path.resolve()


def _check_certificate(cert: Path, field: str) -> None:
    from cryptography import x509

    try:
        loaded = x509.load_pem_x509_certificates(cert.read_bytes())[0]
    except ValueError:
        raise BadInputError(f"{cert} is not a PEM certificate.", field=field,
                            hint="Pass the certificate (chain) in PEM form: -----BEGIN CERTIFICATE-----.") from None
    now = dt.datetime.now(dt.timezone.utc)
    if loaded.not_valid_after_utc < now:
        raise BadInputError(f"The certificate {cert} expired on {loaded.not_valid_after_utc:%Y-%m-%d}.", field=field,
                            hint="Renew it.")


def tls_options(cert: Path | str | None, key: Path | str | None, *, cert_field: str = "--tls-cert",
                key_field: str = "--tls-key") -> TlsOptions | None:
    """The checked TLS settings of a server, or None for plain HTTP when neither is given. Exactly one given, an
    unreadable file, a file that is not PEM, an expired certificate or a key that does not match the certificate is a
    :class:`BadInputError` (exit 2) naming the flag."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        missing, given = (cert_field, key_field) if cert is None else (key_field, cert_field)
        raise BadInputError(f"{given} was given without {missing}.", field=missing,
                            hint=f"Pass both {cert_field} and {key_field}, or neither for plain HTTP.")
    cert_path = _readable(cert, cert_field, "certificate")
    key_path = _readable(key, key_field, "private key")
    _check_certificate(cert_path, cert_field)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(cert_path), str(key_path))
    except ssl.SSLError as exc:
        raise BadInputError(f"The private key {key_path} cannot be used with the certificate {cert_path} "
                            f"({exc.reason or exc}).", field=key_field,
                            hint="Pass the key the certificate was issued for (PEM, unencrypted).") from None
    return TlsOptions(cert_path, key_path)
