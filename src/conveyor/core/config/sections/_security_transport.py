"""The keys of ``security:`` that protect data at rest and in transit: ``security.encryption`` and
``security.allowed_hosts``. A mix-in of the ``security`` section (:mod:`.security` composes it with the identity
and audit settings), kept in a module of its own so each concern reads on its own."""

from __future__ import annotations

from dataclasses import dataclass

from conveyor.core.config.constraints import ListOf, Nested, Text, invalid
from conveyor.core.config.section import Section, setting


@dataclass(frozen=True, kw_only=True)
class Encryption(Section):
    """Where the key-encryption key of encryption at rest comes from (``CONVEYOR_ENCRYPTION_KEY`` wins)."""

    key_file: str | None = setting(None, Text("a file path", example="/run/secrets/conveyor.key"),
                                   doc="A file holding base64 keys of 32 bytes, one a line: the first encrypts, the "
                                       "others still decrypt (rotation). Relative paths start at the project.")
    hook: str | None = setting(None, Text("module:function", example="my_kms:conveyor_keys"),
                               doc="A function (module:function) that returns the key, or a list of keys with the "
                                   "current one first: a KMS or vault client.")

    def validate(self, where: str) -> None:
        if self.key_file and self.hook:
            raise invalid(f"{where}.hook", self.hook, "either key_file or hook, not both",
                          example="{key_file: /run/secrets/conveyor.key}")
        if self.hook and ":" not in self.hook:
            raise invalid(f"{where}.hook", self.hook, "module:function", example="my_kms:conveyor_keys")

    @property
    def configured(self) -> bool:
        return bool(self.key_file or self.hook)


@dataclass(frozen=True, kw_only=True)
class TransportSecurity(Section):
    """``security.encryption`` and ``security.allowed_hosts`` (a mix-in of the security section)."""

    encryption: Encryption = setting({}, Nested(Encryption),
                                     doc="Encryption at rest of every file in the artifact store (artifacts, dataset "
                                         "files, log segments, feature files): key_file or hook.")
    allowed_hosts: list[str] = setting([], ListOf(Text("a host name or address", example="hooks.internal")),
                                       doc="Loopback, private and link-local hosts that webhooks and fetched URLs may "
                                           "reach anyway (all others are refused before connecting).")
