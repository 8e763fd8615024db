"""The keys of ``security:`` that guard the platform server's front door: ``security.rate_limit`` (requests per
minute per token and per address, failed tokens per address) and ``security.anomalies`` (the thresholds at which
security signals become alerts). A mix-in of the ``security`` section, kept in a module of its own."""

from __future__ import annotations

from dataclasses import dataclass

from conveyor.core.config.constraints import Duration, Integer, ListOf, Name, Nested
from conveyor.core.config.section import Section, setting


@dataclass(frozen=True, kw_only=True)
class RateLimit(Section):
    """Per-caller limits of the platform server while authentication is on (429 with Retry-After above them)."""

    per_token: int = setting(3000, Integer(min=0, example="3000"),
                             doc="Requests per minute one token may make (0: no limit).")
    per_address: int = setting(6000, Integer(min=0, example="6000"),
                               doc="Requests per minute one client address may make, with or without a token "
                                   "(0: no limit).")
    failures: int = setting(10, Integer(min=1, example="10"),
                            doc="Failed tokens per minute from one address before it is refused, even with a valid "
                                "token, for the rest of the minute (brute-force throttling).")


@dataclass(frozen=True, kw_only=True)
class Anomalies(Section):
    """Security signals of the platform server, counted over ``window`` and stored as the series
    ``security.auth_failures``, ``security.token_addresses``, ``security.model_downloads`` and
    ``security.requests`` of subject ``security``; each threshold is an alert rule over its series (0: no rule).
    Rules of ``alerts:`` with ``subject: security`` apply too."""

    window: float = setting("5m", Duration(positive=True, example="5m"), doc="How far back each signal counts.")
    auth_failures: int = setting(50, Integer(min=0, example="50"),
                                 doc="Failed tokens in the window (from all addresses) that raise an alert.")
    token_addresses: int = setting(5, Integer(min=0, example="5"),
                                   doc="Distinct client addresses one token is used from in the window.")
    model_downloads: int = setting(200, Integer(min=0, example="200"),
                                   doc="Model and dataset downloads in the window.")
    requests: int = setting(20000, Integer(min=0, example="20000"),
                            doc="Requests in the window from the busiest single token or address (a flood).")
    notify: list[str] = setting(["log"], ListOf(Name(), example="[log, webhook]"),
                                doc="Notifiers of these alerts (the alerts: section configures them).")


@dataclass(frozen=True, kw_only=True)
class AccessSecurity(Section):
    """``security.rate_limit`` and ``security.anomalies`` (a mix-in of the security section)."""

    rate_limit: RateLimit = setting({}, Nested(RateLimit), doc="Per-token and per-address request limits of the "
                                                               "platform server.")
    anomalies: Anomalies = setting({}, Nested(Anomalies), doc="When security signals of the platform server "
                                                              "become alerts.")
