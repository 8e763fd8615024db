"""``alerts:`` rules over the monitoring time series, and where their notifications go."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from conveyor.core.config.constraints import (
    Duration,
    ListOf,
    Name,
    Nested,
    Number,
    OneOf,
    Text,
    Url,
    invalid,
    unknown_key,
)
from conveyor.core.config.section import REQUIRED, Section, setting

OPS = (">=", ">", "<=", "<")


@dataclass(frozen=True, kw_only=True)
class AlertRule(Section):
    """One rule: it fires when ``signal`` has breached ``threshold`` for ``for``."""

    name: str = setting(REQUIRED, Text("a rule name", example="drift"), doc="Unique name of the rule.")
    signal: str = setting(REQUIRED, Text("a series name", example="drift.share"),
                          doc="Any stored series: drift.share, drift.COLUMN, live.accuracy, quality.*, "
                              "cpu_percent ...")
    threshold: float = setting(REQUIRED, Number(example="0.3"), doc="The bound the signal is compared with.")
    op: str = setting(">=", OneOf(*OPS), doc="How the signal is compared with the threshold.")
    for_seconds: float = setting(0, Duration(example="10m"), key="for",
                                 doc="How long the condition must hold (0: the first breaching sample fires).")
    subject: str | None = setting(None, Text("a subject", example="serve:churn:3"),
                                  doc="Whose series (default: the model version being checked).")
    cooldown: float = setting("1h", Duration(example="2h"),
                              doc="After an alert is acknowledged, the rule stays quiet this long.")
    notify: list[str] = setting(["log"], ListOf(Name(), example="[log, webhook]"),
                                doc="Notifiers: log, webhook, command (or a plug-in notifier).")


@dataclass(frozen=True, kw_only=True)
class Webhook(Section):
    """Where the webhook notifier POSTs each alert as JSON."""

    url: str | None = setting(None, Url(), doc="An http(s) URL.")
    timeout: float = setting(5, Duration(positive=True, example="5s"), doc="Time to wait for an answer.")


@dataclass(frozen=True, kw_only=True)
class AlertsSection(Section):
    """Alert rules over the monitoring time series, with deduplication (one page per incident), cooldown and
    notifiers. `conveyor alerts` lists them; `conveyor alerts ack ID` closes one."""

    section: ClassVar[str] = "alerts"
    order: ClassVar[int] = 60
    keeps_extra: ClassVar[bool] = True  # alerts.<plug-in notifier>: that notifier's own settings

    rules: list[AlertRule] = setting([], ListOf(Nested(AlertRule), single=False,
                                                example="[{name: drift, signal: drift.share, threshold: 0.3}]"),
                                     doc="The rules (name, signal, threshold, op, for, subject, cooldown, notify).")
    webhook: Webhook = setting({}, Nested(Webhook), doc="Settings of the webhook notifier.")
    command: str | None = setting(None, Text("a shell command", example='\'logger "$CONVEYOR_ALERT_MESSAGE"\''),
                                  doc="Shell command of the command notifier; the alert is in CONVEYOR_ALERT_ID, "
                                      "_RULE, _SUBJECT, _VALUE and _MESSAGE.")

    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def validate(self, where: str) -> None:
        notified = {name for rule in self.rules for name in rule.notify}
        for key in self.extra:
            if key not in notified:  # settings of a notifier no rule uses: most likely a typo
                raise unknown_key(f"{where}.{key}", [*(s.key for s in self.specs()), *sorted(notified)])
        names = [rule.name for rule in self.rules]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise invalid(f"{where}.rules", repeated, "rules with unique names", example="[{name: drift2, ...}]")


SECTION = AlertsSection
