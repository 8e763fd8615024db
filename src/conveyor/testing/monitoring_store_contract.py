"""The contract every :class:`~conveyor.store.monitoring.MonitoringStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``monitoring_store`` fixture that yields a fresh, empty store per test
(see ``conveyor.testing.dataset_store_contract`` for the pattern).
"""

from __future__ import annotations

import pytest

from conveyor.core.entities import Alert, Sample
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.store.monitoring import MonitoringStore
from conveyor.testing.store_records import NESTED, T0

__all__ = ["MonitoringStoreContract"]


def _alert(alert_id: str, subject: str = "churn:1", at: float = T0, **fields: object) -> Alert:
    return Alert(alert_id, "drift", subject, "drift.share", 0.5, 0.2, "drifted", fired_at=at, last_seen_at=at,
                 **fields)  # type: ignore[arg-type]


class MonitoringStoreContract:
    """Subclass with a ``monitoring_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_reference_stats_are_written_once(self, monitoring_store: MonitoringStore) -> None:
        assert monitoring_store.get_reference_stats("churn:1") is None
        first = {"columns": {"x": {"q": [0.0, 0.5, 1.0]}}, **NESTED}
        assert monitoring_store.put_reference_stats("churn:1", first) == first
        assert monitoring_store.put_reference_stats("churn:1", {"other": 1}) == first  # first writer wins
        assert monitoring_store.get_reference_stats("churn:1") == first
        assert monitoring_store.get_reference_stats("churn:2") is None

    def test_samples_filter_and_order(self, monitoring_store: MonitoringStore) -> None:
        monitoring_store.add_samples([Sample("serve:1", "cpu_percent", 10.0, T0 + 2),
                                      Sample("serve:1", "cpu_percent", 5.0, T0),
                                      Sample("serve:1", "rss_bytes", 1e6, T0 + 1),
                                      Sample("churn:1", "drift.share", 0.25, T0 + 1),
                                      Sample("churn:1", "drift_x", 9.0, T0 + 3)])
        monitoring_store.add_samples([])
        assert [s.value for s in monitoring_store.samples("serve:1", series="cpu_percent")] == [5.0, 10.0]
        assert [s.series for s in monitoring_store.samples("serve:1")] == ["cpu_percent", "rss_bytes", "cpu_percent"]
        assert [s.value for s in monitoring_store.samples("churn:1", series="drift.*")] == [0.25]  # "_" is literal
        assert [s.value for s in monitoring_store.samples(since=T0 + 2)] == [10.0, 9.0]
        assert [s.value for s in monitoring_store.samples(limit=2)] == [10.0, 9.0]  # the newest, oldest first
        assert monitoring_store.samples("nope") == []

    def test_alerts_round_trip_update_and_prefix(self, monitoring_store: MonitoringStore) -> None:
        a = monitoring_store.add_alert(_alert("a1" + "0" * 30, notified=["log"]))
        b = monitoring_store.add_alert(Alert("b2" + "0" * 30, "cpu", "serve:9", "cpu_percent", 99.0, 90.0, "hot",
                                             fired_at=T0 + 1, last_seen_at=T0 + 1))
        assert [x.id for x in monitoring_store.alerts()] == [b.id, a.id]
        assert monitoring_store.alerts("churn:1") == [a]
        assert monitoring_store.alerts(limit=1) == [b]
        assert monitoring_store.get_alert("a1") == a
        a.count, a.status, a.acked_by, a.acked_at, a.notified = 3, "acked", "alice", T0 + 5, ["log", "webhook"]
        monitoring_store.update_alert(a)
        assert monitoring_store.get_alert(a.id) == a
        assert monitoring_store.alerts(status="open") == [b]
        with pytest.raises(NotFoundError, match="No alert 'zz'"):
            monitoring_store.get_alert("zz")
        with pytest.raises(NotFoundError):
            monitoring_store.update_alert(Alert("c" * 32, "r", "s", "x", 1.0, 1.0, "m"))

    def test_alert_prefixes_ambiguous_empty_and_literal(self, monitoring_store: MonitoringStore) -> None:
        monitoring_store.add_alert(_alert("ab1" + "0" * 29))
        monitoring_store.add_alert(_alert("ab2" + "0" * 29, at=T0 + 1))
        with pytest.raises(BadInputError, match="ambiguous") as raised:
            monitoring_store.get_alert("ab")
        assert raised.value.field == "alert"
        with pytest.raises(NotFoundError):
            monitoring_store.get_alert("")
        with pytest.raises(NotFoundError):
            monitoring_store.get_alert("ab_")  # a LIKE wildcard is a literal character
        assert monitoring_store.get_alert("ab2").id == "ab2" + "0" * 29
