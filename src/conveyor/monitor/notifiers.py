"""Notifiers: where a fired alert goes (a log line, a webhook, a shell command, or a plug-in's channel).

The contract of a :class:`Notifier`:

* ``deliver(alert, settings)`` sends one alert and returns once the channel confirmed it; any exception means it
  was not delivered. ``settings`` is the value of ``alerts.<notifier name>`` in conveyor.yaml (None when absent),
  so a plug-in named ``pager`` reads ``alerts.pager``.
* ``send(alert, settings)``, derived once here, never raises an ``Exception``: it returns a :class:`Delivery`,
  delivered or failed with a reason that is safe to store and show. Secrets in the settings (URL credentials,
  paths and queries, values of keys such as ``token`` or ``password``) are masked out of the reason.
* The alert is stored whatever happens: the rule engine records ``alert.notified`` (delivered) and
  ``alert.notify_errors`` (name -> reason), so a dead webhook never costs an incident.
* One instance serves every alert, possibly from several threads: keep no per-alert state on it.

Built-ins: ``log``, ``webhook`` and ``command``. Other packages add notifiers through the entry-point group
``conveyor.notifiers`` (a Notifier subclass or instance)::

    [project.entry-points."conveyor.notifiers"]
    pager = "my_package.notify:PagerNotifier"

``conveyor.testing.notifier_check.check_notifier`` proves a notifier keeps this contract.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from conveyor.core.entities import Alert
from conveyor.core.errors import BadInputError, ConveyorError, NotFoundError, first_line
from conveyor.core.hosts import check_url
from conveyor.core.plugins import Registry

log = logging.getLogger("conveyor.alerts")

REASON_LIMIT = 300
MASK = "***"
SECRET_KEYS = re.compile(r"token|secret|password|passwd|auth|key|credential|signature", re.I)
URL = re.compile(r"[a-zA-Z][\w+.-]*://[^\s'\"<>()]+")


@dataclass(frozen=True)
class Delivery:
    """What became of one alert on one notifier: delivered, or not and why (safe to store and show)."""

    delivered: bool
    reason: str = ""

    @classmethod
    def failed(cls, reason: str) -> Delivery:
        return cls(False, reason or "failed without a reason")


class NotDelivered(Exception):
    """Raise from :meth:`Notifier.deliver` with a message for the user (it is shown as the reason, secrets masked)."""


class Notifier(ABC):
    """One channel alerts go to. Subclasses implement :meth:`deliver`; callers use :meth:`send`."""

    @abstractmethod
    def deliver(self, alert: Alert, settings: Any) -> None:
        """Send ``alert``; return once delivered, raise (anything) when it was not."""

    def send(self, alert: Alert, settings: Any) -> Delivery:
        """Deliver ``alert``; never raises: a failure comes back as a Delivery with a reason free of secrets."""
        try:
            self.deliver(alert, settings)
        except Exception as exc:  # a notifier must never take the monitor down, whatever it raises
            return Delivery.failed(redact(describe(exc), settings))
        return Delivery(True)


class LogNotifier(Notifier):
    """A warning on the ``conveyor.alerts`` logger (the default: always there, needs no settings)."""

    def deliver(self, alert: Alert, settings: Any) -> None:
        log.warning("ALERT %s", alert.message)


class WebhookNotifier(Notifier):
    """POSTs the alert as JSON to ``alerts.webhook.url`` (``timeout`` seconds, default 5); any answer but 2xx
    (an error status, or bytes that are not HTTP at all) is a failure."""

    def deliver(self, alert: Alert, settings: Any) -> None:
        config = settings if isinstance(settings, dict) else {}
        url = str(config.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise BadInputError("alerts.webhook.url must be an http(s) URL.", field="alerts.webhook.url")
        try:
            timeout = float(config.get("timeout", 5))
        except (TypeError, ValueError):
            raise BadInputError(f"alerts.webhook.timeout must be seconds, got {config.get('timeout')!r}.",
                                field="alerts.webhook.timeout") from None
        allowed = config.get("allowed_hosts")
        if allowed is not None:  # security.allowed_hosts, handed in by the project: internal hosts refused
            check_url(url, allowed, field="alerts.webhook.url")
        request = urllib.request.Request(url, data=json.dumps(asdict(alert)).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with _NO_REDIRECTS.open(request, timeout=timeout) as response:
                status = response.status
        except Exception as exc:  # refused, timed out, not HTTP, a bad port ...: say which receiver
            raise NotDelivered(f"{describe(exc)} (POST {_bare_url(url)})") from None
        if not 200 <= status < 300:
            raise NotDelivered(f"the webhook answered HTTP {status} (POST {_bare_url(url)})")


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook that answers with a redirect is not followed (it could point anywhere, internal hosts included)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        raise NotDelivered(f"the webhook answered HTTP {code}, a redirect, which is not followed "
                           f"(POST {_bare_url(req.full_url)})")


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


class CommandNotifier(Notifier):
    """Runs ``alerts.command`` in a shell with ``CONVEYOR_ALERT_ID/RULE/SUBJECT/VALUE/MESSAGE`` set; a non-zero
    exit (or more than 60 s) is a failure, reported with the start of its stderr."""

    timeout = 60.0

    def deliver(self, alert: Alert, settings: Any) -> None:
        if not settings or not isinstance(settings, str):
            raise BadInputError("alerts.command is not set (a shell command line).", field="alerts.command")
        env = {**os.environ, "CONVEYOR_ALERT_ID": alert.id, "CONVEYOR_ALERT_RULE": alert.rule,
               "CONVEYOR_ALERT_SUBJECT": alert.subject, "CONVEYOR_ALERT_VALUE": repr(alert.value),
               "CONVEYOR_ALERT_MESSAGE": alert.message}
        result = subprocess.run(settings, shell=True, env=env, timeout=self.timeout, capture_output=True,
                                check=False)
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            raise NotDelivered(f"the command exited {result.returncode}"
                               + (f": {stderr.splitlines()[-1][:200]}" if stderr else ""))


def _check(name: str, value: object) -> None:
    target = value if isinstance(value, type) else type(value)
    if not callable(getattr(target, "send", None)):
        raise BadInputError(f"The notifier {name!r} is {target.__name__}, which has no send(alert, settings).",
                            field="alerts.rules[].notify",
                            hint="Make it a subclass of conveyor.monitor.notifiers.Notifier.")


NOTIFIERS: Registry[Notifier | type[Notifier]] = Registry("notifier", "conveyor.notifiers",
                                                          field="alerts.rules[].notify", check=_check)
NOTIFIERS.register("log", LogNotifier())
NOTIFIERS.register("webhook", WebhookNotifier())
NOTIFIERS.register("command", CommandNotifier())


def check_notifier_name(name: str, field: str) -> str:
    """``name`` if a notifier of that name is registered (plug-ins included), else NotFoundError naming ``field``."""
    try:
        return NOTIFIERS.check_name(name)
    except NotFoundError as exc:
        raise exc.with_field(field) from None


def get_notifier(name: str) -> Notifier:
    """The notifier registered as ``name`` (a registered class is instantiated)."""
    value = NOTIFIERS.get(name)
    return value() if isinstance(value, type) else value


def notify(alert: Alert, names: list[str], settings: dict[str, Any]) -> dict[str, Delivery]:
    """Send ``alert`` to each named notifier with its ``alerts.<name>`` settings; never raises.

    Even a notifier that cannot be loaded, raises from ``send`` or returns something else is recorded as failed."""
    outcome: dict[str, Delivery] = {}
    for name in names:
        section = settings.get(name)
        try:
            delivery = get_notifier(name).send(alert, section)
            if not isinstance(delivery, Delivery):
                delivery = Delivery.failed(f"send() returned {type(delivery).__name__}, not a Delivery")
        except Exception as exc:  # a broken plug-in: the alert is stored all the same
            delivery = Delivery.failed(redact(describe(exc), section))
        if not delivery.delivered:
            delivery = Delivery.failed(redact(delivery.reason, section))  # a plug-in's own send() may not mask
            log.error("alert notifier %s failed for %s: %s", name, alert.rule, delivery.reason)
        outcome[name] = delivery
    return outcome


def describe(exc: BaseException) -> str:
    """What went wrong, in words a user reads next to the alert."""
    if isinstance(exc, NotDelivered):
        return str(exc)
    if isinstance(exc, ConveyorError):
        return exc.message
    if isinstance(exc, urllib.error.HTTPError):
        return f"the webhook answered HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot reach the receiver: {first_line(exc.reason) if exc.reason else exc}"
    if isinstance(exc, http.client.BadStatusLine | http.client.IncompleteRead | http.client.RemoteDisconnected):
        return f"the receiver did not answer in HTTP ({type(exc).__name__})"
    if isinstance(exc, http.client.InvalidURL):
        return f"invalid URL: {first_line(exc)}"
    if isinstance(exc, subprocess.TimeoutExpired):
        return f"timed out after {exc.timeout:g} s"
    if isinstance(exc, TimeoutError):
        return "timed out waiting for the receiver"
    return f"{type(exc).__name__}: {first_line(exc)}"


def redact(text: str, settings: Any) -> str:
    """``text`` with every secret ``settings`` holds masked, cut to a length fit for a table cell."""
    text = URL.sub(lambda match: _bare_url(match.group(0)), text)  # a URL keeps its scheme, host and port only
    for secret in sorted(set(_secrets(settings, None)), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return "".join(c if c.isprintable() else "?" for c in text)[:REASON_LIMIT]


def _secrets(value: Any, key: str | None) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _secrets(v, str(k))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secrets(item, key)
    elif isinstance(value, str) and value:
        if key is not None and SECRET_KEYS.search(key) and len(value) >= 3:
            yield value
        for url in URL.findall(value):
            yield from _url_secrets(url)


def _url_secrets(url: str) -> Iterator[str]:
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        yield parts.password
    if parts.username:
        yield parts.username
    for part in (parts.path, parts.query, parts.fragment):
        if len(part) >= 4:
            yield part
    for _, value in urllib.parse.parse_qsl(parts.query):
        if len(value) >= 3:
            yield value


def _bare_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    where = parts.netloc.rpartition("@")[2]  # credentials never shown
    return f"{parts.scheme}://{where}" + (f"/{MASK}" if parts.path.strip("/") or parts.query else "")
