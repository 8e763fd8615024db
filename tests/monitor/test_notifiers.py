"""Notifiers keep their contract: every built-in passes check_notifier against a real HTTP receiver, a receiver that
answers garbage or a URL with a bad port leaves the alert stored with the failure noted (no secret shown), and a
notifier that breaks the contract cannot lose an alert."""

from __future__ import annotations

import logging
import shlex
import sys
import urllib.request

import pytest

from conveyor.core.entities import Sample
from conveyor.core.errors import NotFoundError
from conveyor.monitor.alerts import evaluate, parse_rules
from conveyor.monitor.notifiers import NOTIFIERS, Delivery, Notifier, get_notifier, redact
from conveyor.store.monitoring import InMemoryMonitoringStore
from conveyor.testing.notifier_check import check_notifier, local_receiver

POST = ("import json, os, sys, urllib.request as u; "
        "u.urlopen(u.Request(sys.argv[1], data=json.dumps({'id': os.environ['CONVEYOR_ALERT_ID']}).encode(), "
        "method='POST'), timeout=5)")


class LogLines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def alert_log():
    handler = LogLines()
    logger = logging.getLogger("conveyor.alerts")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_the_log_notifier_keeps_the_contract(alert_log):
    outcomes = check_notifier(get_notifier("log"), lambda _url: None,
                              received=lambda alert: any(alert.message in line for line in alert_log))
    assert all(o.delivered for o in outcomes.values())  # a log line needs no receiver: nothing can fail


def test_the_webhook_notifier_keeps_the_contract():
    outcomes = check_notifier(get_notifier("webhook"), lambda url: {"url": url, "timeout": 5})
    assert "did not answer in HTTP" in outcomes["garbage"].reason
    assert "HTTP 500" in outcomes["error"].reason
    assert "invalid URL" in outcomes["bad_port"].reason and "alerts.webhook.url" in outcomes["no_settings"].reason


def test_the_command_notifier_keeps_the_contract():
    outcomes = check_notifier(get_notifier("command"),
                              lambda url: f"{shlex.quote(sys.executable)} -c {shlex.quote(POST)} {shlex.quote(url)}")
    assert "exited 1" in outcomes["garbage"].reason and "BadStatusLine" in outcomes["garbage"].reason
    assert "alerts.command is not set" in outcomes["no_settings"].reason


def store_with_breach(store, subject="m:1"):
    store.add_samples([Sample(subject, "drift.share", 0.9, 1.0)])
    return store


def test_a_receiver_answering_garbage_leaves_the_alert_stored_with_the_failure(stores):
    """Regression: the garbage answer used to escape as http.client.BadStatusLine and crash `conveyor monitor`."""
    store = store_with_breach(stores.monitoring)
    with local_receiver("garbage") as receiver:
        config = {"rules": [{"name": "drift", "signal": "drift.share", "threshold": 0.5, "notify": ["webhook", "log"]}],
                  "webhook": {"url": f"{receiver.url}/hooks/T0001/s3cr3t-path?token=hunter2", "timeout": 5}}
        [fired] = evaluate(store, parse_rules(config), "m:1", config, at=2.0)
        assert len(receiver.requests) == 1  # it was really sent
    [stored] = store.alerts("m:1")  # read back from SQLite
    assert stored.id == fired.id and stored.notified == ["log"]
    reason = stored.notify_errors["webhook"]
    assert "did not answer in HTTP" in reason and "127.0.0.1" in reason
    assert "hunter2" not in reason and "s3cr3t" not in reason


def test_a_webhook_url_with_a_bad_port_leaves_the_alert_stored_with_the_failure(stores):
    store = store_with_breach(stores.monitoring)
    config = {"rules": [{"name": "drift", "signal": "drift.share", "threshold": 0.5, "notify": ["webhook"]}],
              "webhook": {"url": "http://alice:pa55word@127.0.0.1:99x/hook?token=hunter2"}}
    evaluate(store, parse_rules(config), "m:1", config, at=2.0)
    [stored] = store.alerts("m:1")
    assert stored.notified == [] and "invalid URL" in stored.notify_errors["webhook"]
    assert not {"pa55word", "alice", "hunter2"} & set(stored.notify_errors["webhook"].replace("'", " ").split())


def test_a_mistyped_notifier_says_did_you_mean_and_names_the_rule():
    with pytest.raises(NotFoundError, match=r"Unknown notifier 'webhok'\. Did you mean 'webhook'") as caught:
        parse_rules({"rules": [{"name": "r", "signal": "s", "threshold": 1},
                               {"name": "q", "signal": "s", "threshold": 1, "notify": ["log", "webhok"]}]})
    assert caught.value.field == "alerts.rules[1].notify"


class Memo(Notifier):
    """A plug-in as a class: registered once, instantiated on use, reads alerts.memo."""

    seen: list = []

    def deliver(self, alert, settings):
        Memo.seen.append((alert.rule, settings))


def test_a_registered_notifier_gets_its_own_settings_section():
    NOTIFIERS.register("memo", Memo)
    try:
        config = {"rules": [{"name": "drift", "signal": "drift.share", "threshold": 0.5, "notify": "memo"}],
                  "memo": {"channel": "#ops"}}
        [alert] = evaluate(store_with_breach(InMemoryMonitoringStore()), parse_rules(config), "m:1", config, at=2.0)
    finally:
        NOTIFIERS.unregister("memo")
    assert Memo.seen == [("drift", {"channel": "#ops"})] and alert.notified == ["memo"]


class Raising:
    """Breaks the contract: no Notifier base, and send() raises."""

    def send(self, alert, settings):
        raise RuntimeError(f"down, token {settings.get('token') if isinstance(settings, dict) else settings}")


class Silent:
    """Breaks the contract: send() returns None instead of a Delivery."""

    def send(self, alert, settings):
        return None


def test_a_notifier_that_breaks_the_contract_cannot_lose_the_alert(stores):
    NOTIFIERS.register("raising", Raising())
    NOTIFIERS.register("silent", Silent())
    try:
        config = {"rules": [{"name": "drift", "signal": "drift.share", "threshold": 0.5,
                             "notify": ["raising", "silent", "log"]}], "raising": {"token": "hunter2"}}
        store = store_with_breach(stores.monitoring)
        evaluate(store, parse_rules(config), "m:1", config, at=2.0)
    finally:
        NOTIFIERS.unregister("raising")
        NOTIFIERS.unregister("silent")
    [stored] = store.alerts("m:1")
    assert stored.notified == ["log"]
    assert stored.notify_errors == {"raising": "RuntimeError: down, token ***",
                                    "silent": "send() returned NoneType, not a Delivery"}


class FireAndForget(Notifier):
    """Breaks the contract: claims delivery whatever the receiver answered."""

    def deliver(self, alert, settings):
        try:
            urllib.request.urlopen(urllib.request.Request(settings, data=alert.id.encode(), method="POST"), timeout=5)
        except Exception:
            pass


class Leaky(FireAndForget):
    """Breaks the contract: its own send() puts the URL, token and all, into the reason of a failure."""

    def send(self, alert, settings):
        try:
            urllib.request.urlopen(urllib.request.Request(settings, data=alert.id.encode(), method="POST"), timeout=5)
        except Exception:
            return Delivery.failed(f"could not post to {settings}")
        return Delivery(True)


@pytest.mark.parametrize(("notifier", "broken"), [
    (FireAndForget(), "answers garbage was reported as delivered"),
    (Leaky(), "shows the secret"),
    (Raising(), "send\\(\\) raised RuntimeError"),
])
def test_check_notifier_catches_each_broken_rule(notifier, broken):
    with pytest.raises(AssertionError, match=broken):
        check_notifier(notifier, lambda url: url)


def test_redact_keeps_the_host_and_masks_credentials_paths_and_tokens():
    settings = {"url": "https://bot:pa55@hooks.example.com/services/T0/B0/XyZsecret?key=abc123", "api_key": "k-999"}
    text = ("POST https://bot:pa55@hooks.example.com/services/T0/B0/XyZsecret?key=abc123 failed; "
            "key k-999; path /services/T0/B0/XyZsecret")
    assert redact(text, settings) == "POST https://hooks.example.com/*** failed; key ***; path ***"


def test_a_plug_in_reason_that_shows_a_secret_is_masked_before_it_is_stored(stores):
    NOTIFIERS.register("leaky", Leaky())
    try:
        config = {"rules": [{"name": "drift", "signal": "drift.share", "threshold": 0.5, "notify": ["leaky"]}],
                  "leaky": "http://127.0.0.1:notaport/hook?token=hunter2"}
        evaluate(store_with_breach(stores.monitoring), parse_rules(config), "m:1", config, at=2.0)
    finally:
        NOTIFIERS.unregister("leaky")
    [stored] = stores.monitoring.alerts("m:1")
    assert stored.notify_errors == {"leaky": "could not post to http://127.0.0.1:notaport/***"}
