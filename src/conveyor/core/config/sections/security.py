"""``security:`` how a project protects its data: encryption at rest and the hosts outbound calls may reach."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from conveyor.core.config.sections._security_transport import TransportSecurity


@dataclass(frozen=True, kw_only=True)
class SecuritySection(TransportSecurity):
    """Encryption at rest (``encryption``) and the allow-list of private hosts (``allowed_hosts``)."""

    section: ClassVar[str] = "security"
    order: ClassVar[int] = 90


SECTION = SecuritySection
