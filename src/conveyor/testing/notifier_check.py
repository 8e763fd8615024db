"""``check_notifier``: prove that a notifier keeps the contract of ``conveyor.monitor.notifiers`` against a real
HTTP receiver on 127.0.0.1.

The checker sends a sample alert through ``notifier.send`` in five situations and fails (AssertionError naming the
rule) unless:

1. with a receiver that answers 204, the alert is delivered (``Delivery.delivered``) and received;
2. with a receiver that answers bytes that are not HTTP, and 3. with one that answers HTTP 500, ``send`` returns
   (never raises) and, if the receiver was contacted, reports a failure with a reason;
4. with a URL whose port is not a number, and 5. with no settings at all, ``send`` returns, never raises;
6. no reason and no log line written during the check contains the secret token the settings carried.

``settings_for(url)`` turns the receiver's URL (which carries a secret token in its query) into the notifier's
settings (its ``alerts.<name>`` section); ``received(alert)`` says whether the alert arrived where the notifier
sends it, for notifiers that do not send to the URL (a log line, a file). By default the alert counts as received
when a request to the receiver carried its id.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conveyor.core.entities import Alert
from conveyor.monitor.notifiers import Delivery

GARBAGE = b"\x00\xffthis is not HTTP\r\n\r\n"


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records each request. ``mode``: ``ok`` answers 204, ``error`` 500,
    ``garbage`` bytes that are not HTTP at all (then closes the connection), ``redirect:URL`` a 307 to URL."""

    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def bodies(self) -> list[bytes]:
        return [r["body"] for r in self.requests]


@contextmanager
def local_receiver(mode: str = "ok") -> Iterator[Receiver]:
    """A :class:`Receiver` listening for the duration of the block; its mode may change inside it."""
    receiver = Receiver(mode)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if receiver.mode == "garbage":
                self.wfile.write(GARBAGE)
                self.wfile.flush()
                self.close_connection = True
                return
            if receiver.mode.startswith("redirect:"):  # "redirect:URL" answers 307 to URL
                self.send_response(307)
                self.send_header("Location", receiver.mode.split(":", 1)[1])
            else:
                self.send_response(204 if receiver.mode == "ok" else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_PUT = do_POST

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def sample_alert() -> Alert:
    return Alert(id=secrets.token_hex(8), rule="check_notifier", subject="model:1", signal="drift.share",
                 value=0.5, threshold=0.3, message="check_notifier: drift.share of model:1 is 0.5 (>= 0.3)")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def check_notifier(notifier: Any, settings_for: Callable[[str], Any], *,
                   received: Callable[[Alert], bool] | None = None) -> dict[str, Delivery]:
    """Run the checks above; return the Delivery of each situation (keys: delivered, garbage, error, bad_port,
    no_settings) for further assertions."""
    secret = secrets.token_urlsafe(12)
    lines = _Lines()
    root = logging.getLogger()
    root.addHandler(lines)
    outcomes: dict[str, Delivery] = {}
    try:
        with local_receiver() as receiver:
            url = f"{receiver.url}/hook?token={secret}"

            alert = sample_alert()
            outcomes["delivered"] = _send(notifier, alert, settings_for(url), "a receiver that answers 204")
            got = received(alert) if received else any(alert.id.encode() in b for b in receiver.bodies())
            assert outcomes["delivered"].delivered, \
                f"a receiver that answers 204 got no delivery: {outcomes['delivered'].reason}"
            assert got, "send() reported the alert delivered, but it never arrived"

            for mode in ("garbage", "error"):
                receiver.mode, before = mode, len(receiver.requests)
                outcome = _send(notifier, sample_alert(), settings_for(url), f"a receiver that answers {mode}")
                if len(receiver.requests) > before:
                    assert not outcome.delivered, f"a receiver that answers {mode} was reported as delivered"
                    assert outcome.reason, f"a failure on a receiver that answers {mode} has no reason"
                outcomes[mode] = outcome

        bad_port = url.replace(receiver.url, "http://127.0.0.1:notaport")
        outcomes["bad_port"] = _send(notifier, sample_alert(), settings_for(bad_port), "a URL with a bad port")
        outcomes["no_settings"] = _send(notifier, sample_alert(), None, "no settings")
    finally:
        root.removeHandler(lines)
    for situation, outcome in outcomes.items():
        assert secret not in outcome.reason, f"the reason given for {situation} shows the secret: {outcome.reason}"
        assert outcome.delivered or outcome.reason, f"the failure for {situation} has no reason"
    leaked = [line for line in lines.lines if secret in line]
    assert not leaked, f"a log line shows the secret: {leaked[0]}"
    return outcomes


def _send(notifier: Any, alert: Alert, settings: Any, situation: str) -> Delivery:
    try:
        outcome = notifier.send(alert, settings)
    except Exception as exc:  # the contract's first rule
        raise AssertionError(f"send() raised {type(exc).__name__} with {situation}: {exc}") from exc
    assert isinstance(outcome, Delivery), f"send() returned {type(outcome).__name__}, not a Delivery ({situation})"
    return outcome
