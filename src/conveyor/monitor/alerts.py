"""Alert rules over the monitoring time series, with deduplication, cooldown and notifiers.

In conveyor.yaml::

    alerts:
      rules:
        - name: drift                 # unique
          signal: drift.share         # any stored series: drift.<column>, live.accuracy, quality.*, cpu_percent ...
          op: ">="                    # >=, >, <=, <
          threshold: 0.3
          for: 10m                    # the condition must hold that long (0: the first breaching sample fires)
          subject: flights:3          # optional: whose series (default: the model version being checked)
          cooldown: 1h                # after an alert is acknowledged, stay quiet this long
          notify: [log, webhook]      # default [log]; any registered notifier (monitor/notifiers.py, plug-ins)
      webhook: {url: "http://127.0.0.1:9000/hook", timeout: 5}
      command: "notify-send \"$CONVEYOR_ALERT_MESSAGE\""

Each notifier reads its own section (``alerts.<name>``). While an alert of a rule is open for a subject, repeats
update it (``count``, ``last_seen_at``, ``value``) and notify nobody again: one page per incident. ``conveyor alerts
ack ID`` closes it. A new alert is stored whatever its notifiers did, with ``notified`` (the notifiers that
delivered) and ``notify_errors`` (why the others did not).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.config.sections.alerts import AlertsSection
from conveyor.core.entities import Alert, new_id, now
from conveyor.monitor.notifiers import check_notifier_name, notify
from conveyor.store.monitoring import MonitoringStore

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclass
class Rule:
    name: str
    signal: str
    threshold: float
    op: str = ">="
    for_seconds: float = 0.0
    subject: str | None = None
    cooldown: float = 3600.0
    notify: list[str] = field(default_factory=lambda: ["log"])

    def breached(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)


def parse_rules(config: AlertsSection | dict[str, Any] | None) -> list[Rule]:
    """The rules of the ``alerts:`` section (checked there: one message naming the field for each mistake), with
    their notifiers checked here."""
    if isinstance(config, dict) and isinstance(config.get("webhook"), dict) and "allowed_hosts" in config["webhook"]:
        # security.allowed_hosts rides along for the webhook notifier (the project adds it); not an alerts: key
        config = {**config, "webhook": {k: v for k, v in config["webhook"].items() if k != "allowed_hosts"}}
    section = config if isinstance(config, AlertsSection) else AlertsSection.parse(config, "alerts")
    rules = []
    for i, raw in enumerate(section.rules):
        for name in raw.notify:
            check_notifier_name(name, f"alerts.rules[{i}].notify")
        rules.append(Rule(raw.name, raw.signal, raw.threshold, raw.op, raw.for_seconds, raw.subject, raw.cooldown,
                          list(raw.notify)))
    return rules


def _held_since(store: MonitoringStore, rule: Rule, subject: str, at: float) -> tuple[float, float] | None:
    """(value, start) of the newest unbroken run of breaching samples, or None when the newest does not breach."""
    samples = store.samples(subject, series=rule.signal, limit=10_000)
    samples = [s for s in samples if s.at <= at]
    if not samples or not rule.breached(samples[-1].value):
        return None
    start = samples[-1].at
    for sample in reversed(samples):
        if not rule.breached(sample.value):
            break
        start = sample.at
    return samples[-1].value, start


def evaluate(store: MonitoringStore, rules: list[Rule], subject: str, settings: dict[str, Any] | None = None, *,
             at: float | None = None) -> list[Alert]:
    """Check the rules that apply to ``subject`` against its stored series; return the alerts raised or repeated."""
    at = now() if at is None else at
    raised = []
    for rule in rules:
        if rule.subject not in (None, subject):
            continue
        held = _held_since(store, rule, subject, at)
        if held is None or at - held[1] < rule.for_seconds:
            continue
        value = held[0]
        message = (f"{rule.name}: {rule.signal} of {subject} is {value:.4g} ({rule.op} {rule.threshold:.4g}"
                   + (f" for {at - held[1]:.0f}s)" if rule.for_seconds else ")"))
        previous = store.alerts(subject)
        mine = [a for a in previous if a.rule == rule.name]
        open_one = next((a for a in mine if a.status == "open"), None)
        if open_one is not None:
            open_one.count += 1
            open_one.last_seen_at, open_one.value, open_one.message = at, value, message
            store.update_alert(open_one)
            raised.append(open_one)
            continue
        if mine and at - mine[0].last_seen_at < rule.cooldown:
            continue  # acknowledged recently: the cooldown keeps a flapping signal from paging again
        alert = Alert(new_id(), rule.name, subject, rule.signal, value, rule.threshold, message, at, at)
        deliveries = notify(alert, rule.notify, settings or {})
        alert.notified = [name for name, done in deliveries.items() if done.delivered]
        alert.notify_errors = {name: done.reason for name, done in deliveries.items() if not done.delivered}
        raised.append(store.add_alert(alert))
    return raised


def evaluate_all(store: MonitoringStore, rules: list[Rule], subject: str, settings: dict[str, Any] | None = None, *,
                 at: float | None = None) -> list[Alert]:
    """:func:`evaluate` for ``subject`` and for every subject a rule names (e.g. a serving process's resources)."""
    subjects = [subject, *sorted({r.subject for r in rules if r.subject and r.subject != subject})]
    return [alert for one in subjects for alert in evaluate(store, rules, one, settings, at=at)]


def acknowledge(store: MonitoringStore, alert_id: str, actor: str) -> Alert:
    alert = store.get_alert(alert_id)
    if alert.status != "acked":
        alert.status, alert.acked_by, alert.acked_at = "acked", actor, now()
        store.update_alert(alert)
    return alert
