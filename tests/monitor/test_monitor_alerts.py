"""Alert rules on stored series: thresholds held for a while, deduplication, cooldown after an acknowledgement,
and the notifiers for real: a log line, a webhook POST to an HTTP receiver on 127.0.0.1, and a shell command."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conveyor.core.entities import Sample
from conveyor.core.errors import ConveyorError
from conveyor.monitor.alerts import acknowledge, evaluate, parse_rules
from conveyor.store.monitoring import InMemoryMonitoringStore


@pytest.fixture
def receiver():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_rule_fires_after_holding_dedups_and_cools_down(receiver, tmp_path, caplog):
    url, received = receiver
    marker = tmp_path / "paged.txt"
    config = {"rules": [{"name": "drift", "signal": "drift.share", "threshold": 0.3, "for": "60s", "cooldown": "1h",
                         "notify": ["log", "webhook", "command"]}],
              "webhook": {"url": url, "timeout": 5},
              "command": f'echo "$CONVEYOR_ALERT_RULE $CONVEYOR_ALERT_SUBJECT" >> {marker}'}
    rules = parse_rules(config)
    store = InMemoryMonitoringStore()
    t0 = 1_000_000.0
    store.add_samples([Sample("m:1", "drift.share", 0.1, t0), Sample("m:1", "drift.share", 0.5, t0 + 10)])
    assert evaluate(store, rules, "m:1", config, at=t0 + 20) == []  # breaching for 10 s, not yet 60 s
    store.add_samples([Sample("m:1", "drift.share", 0.6, t0 + 80)])
    with caplog.at_level(logging.WARNING, logger="conveyor.alerts"):
        [alert] = evaluate(store, rules, "m:1", config, at=t0 + 80)
    assert alert.notified == ["log", "webhook", "command"] and alert.value == 0.6
    assert "drift: drift.share of m:1 is 0.6" in caplog.text
    assert received[0]["path"] == "/hook" and received[0]["type"] == "application/json"
    assert received[0]["json"]["rule"] == "drift" and received[0]["json"]["subject"] == "m:1"
    assert marker.read_text() == "drift m:1\n"

    store.add_samples([Sample("m:1", "drift.share", 0.7, t0 + 90)])
    [repeat] = evaluate(store, rules, "m:1", config, at=t0 + 90)
    assert repeat.id == alert.id and repeat.count == 2  # one incident, one page
    assert len(received) == 1 and marker.read_text().count("\n") == 1
    assert len(store.alerts()) == 1

    acked = acknowledge(store, alert.id[:6], "alice")
    assert (acked.status, acked.acked_by) == ("acked", "alice")
    store.add_samples([Sample("m:1", "drift.share", 0.8, t0 + 200)])
    assert evaluate(store, rules, "m:1", config, at=t0 + 200) == []  # inside the cooldown
    store.add_samples([Sample("m:1", "drift.share", 0.8, t0 + 4000)])
    [again] = evaluate(store, rules, "m:1", config, at=t0 + 4000)
    assert again.id != alert.id and len(received) == 2


def test_rules_apply_to_their_subject_and_falling_signals():
    store = InMemoryMonitoringStore()
    rules = parse_rules({"rules": [{"name": "acc", "signal": "live.accuracy", "op": "<", "threshold": 0.8},
                                   {"name": "cpu", "signal": "cpu_percent", "threshold": 90, "subject": "serve:m:1"}]})
    store.add_samples([Sample("m:1", "live.accuracy", 0.7, 10.0), Sample("serve:m:1", "cpu_percent", 95.0, 10.0)])
    assert [a.rule for a in evaluate(store, rules, "m:1", at=11.0)] == ["acc"]
    assert [a.rule for a in evaluate(store, rules, "serve:m:1", at=11.0)] == ["cpu"]


def test_a_failing_notifier_is_recorded_not_raised(tmp_path):
    store = InMemoryMonitoringStore()
    config = {"rules": [{"name": "r", "signal": "s", "threshold": 1, "notify": ["webhook", "command", "log"]}],
              "webhook": {"url": "http://127.0.0.1:9/nothing-listens", "timeout": 1}, "command": "exit 3"}
    store.add_samples([Sample("m:1", "s", 2.0, 1.0)])
    [alert] = evaluate(store, parse_rules(config), "m:1", config, at=2.0)
    assert alert.notified == ["log"]


@pytest.mark.parametrize(("rule", "field"), [
    ({"signal": "s", "threshold": 1}, "alerts.rules[0].name"),
    ({"name": "r", "signal": "s", "threshold": "high"}, "alerts.rules[0].threshold"),
    ({"name": "r", "signal": "s", "threshold": 1, "op": "=~"}, "alerts.rules[0].op"),
    ({"name": "r", "signal": "s", "threshold": 1, "notify": ["pager"]}, "alerts.rules[0].notify"),
    ({"name": "r", "signal": "s", "threshold": 1, "for": "a while"}, "alerts.rules[0].for"),
])
def test_rule_mistakes_name_the_field(rule, field):
    with pytest.raises(ConveyorError) as caught:
        parse_rules({"rules": [rule]})
    assert caught.value.field == field


def test_evaluate_all_covers_the_subjects_rules_name():
    from conveyor.monitor.alerts import evaluate_all

    store = InMemoryMonitoringStore()
    rules = parse_rules({"rules": [{"name": "drift", "signal": "drift.share", "threshold": 0.5},
                                   {"name": "rss", "signal": "rss_bytes", "threshold": 1e9, "subject": "serve:m:1"}]})
    store.add_samples([Sample("m:1", "drift.share", 0.6, 1.0), Sample("serve:m:1", "rss_bytes", 2e9, 1.0)])
    assert sorted(a.rule for a in evaluate_all(store, rules, "m:1", at=2.0)) == ["drift", "rss"]
