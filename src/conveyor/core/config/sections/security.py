"""``security:`` encryption at rest, the hosts outbound calls may reach, and the keys that keep the audit trail
(``security.audit``) and model artifacts (``security.models``) honest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from conveyor.core.config.constraints import Nested, Text
from conveyor.core.config.section import Section, setting
from conveyor.core.config.sections._security_access import AccessSecurity
from conveyor.core.config.sections._security_transport import TransportSecurity


@dataclass(frozen=True, kw_only=True)
class AuditKeys(Section):
    """Where the audit trail's keys and anchor live: outside the database, so one who can write to it cannot
    rewrite the trail quietly. Relative paths are from the project folder. `conveyor audit keygen` makes the keys."""

    key_file: str | None = setting(None, Text("a file path", example="/run/secrets/conveyor-audit.key"),
                                   doc="HMAC key of the audit hash chain (32 or more random bytes): rows written "
                                       "with it cannot be recomputed by one who can only write to the database.")
    signing_key_file: str | None = setting(None, Text("a file path",
                                                      example="/run/secrets/conveyor-audit-signing.pem"),
                                           doc="Ed25519 private key (PEM) that signs the anchor (the chain's head).")
    anchor: str | None = setting(None, Text("a file path", example="/mnt/audit/anchor.json"),
                                 doc="File the signed anchor is written to on every governance event (needs "
                                     "signing_key_file); `conveyor audit verify` finds a truncated trail with it.")


@dataclass(frozen=True, kw_only=True)
class ModelKeys(Section):
    """Optional signing of model artifacts (Ed25519, offline). Relative paths are from the project folder."""

    signing_key_file: str | None = setting(None, Text("a file path", example="/run/secrets/model-signing.pem"),
                                           doc="Ed25519 private key (PEM): every registered version is signed "
                                               "(its artifact digest and flavor).")
    public_key_file: str | None = setting(None, Text("a file path", example="/etc/conveyor/model-signing.pub"),
                                          doc="Ed25519 key (PEM) that verifies versions before load, serve and "
                                              "promote; an unsigned or wrongly signed version is refused. "
                                              "Default: the public half of signing_key_file, when set.")


@dataclass(frozen=True, kw_only=True)
class SecuritySection(TransportSecurity, AccessSecurity):
    """Security settings of the project: encryption at rest (``encryption``), the allow-list of private hosts
    (``allowed_hosts``), the audit trail's keys (``audit``) and model signing (``models``)."""

    section: ClassVar[str] = "security"
    order: ClassVar[int] = 90

    audit: AuditKeys = setting({}, Nested(AuditKeys), doc="The audit trail's HMAC key, signing key and anchor.")
    models: ModelKeys = setting({}, Nested(ModelKeys), doc="Signing and verifying model artifacts.")


SECTION = SecuritySection
