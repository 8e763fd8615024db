"""A self-signed certificate made on the fly with ``cryptography``, for tests of HTTPS servers and clients."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

__all__ = ["client_context", "self_signed_certificate"]


def self_signed_certificate(folder: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), *,
                            days: int = 2, name: str = "server") -> tuple[Path, Path]:
    """Write ``<name>.crt`` and ``<name>.key`` (PEM, an EC P-256 key) into ``folder``, valid for ``hosts``;
    returns their paths. The certificate is its own CA: trust it with :func:`client_context`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def client_context(cert: Path) -> ssl.SSLContext:
    """A client context that trusts ``cert`` (and nothing else), with hostname checking on."""
    return ssl.create_default_context(cafile=str(cert))
