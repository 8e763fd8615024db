"""The contract every :class:`~conveyor.store.leases.LeaseStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``lease_store`` fixture that yields a fresh, empty store per test
(see ``conveyor.testing.dataset_store_contract`` for the pattern).
"""

from __future__ import annotations

from conveyor.core.entities import new_id
from conveyor.store.leases import LeaseStore
from conveyor.testing.store_records import T0, hammer

__all__ = ["LeaseStoreContract"]


class LeaseStoreContract:
    """Subclass with a ``lease_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_jobs_are_claimed_once_and_taken_over_when_stale(self, lease_store: LeaseStore) -> None:
        job = lease_store.claim("retrain:churn:1", "agent-a", lease_seconds=60, at=T0)
        assert job is not None and (job.status, job.holder, job.attempts) == ("running", "agent-a", 1)
        assert lease_store.claim("retrain:churn:1", "agent-b", lease_seconds=60, at=T0 + 30) is None
        assert lease_store.update("retrain:churn:1", result={"phase": "training"}, holder="agent-a", at=T0 + 50)
        assert not lease_store.update("retrain:churn:1", status="done", holder="agent-b")
        taken = lease_store.claim("retrain:churn:1", "agent-b", lease_seconds=60, at=T0 + 111)
        assert taken is not None
        assert (taken.holder, taken.attempts, taken.result) == ("agent-b", 2, {"phase": "training"})
        assert lease_store.update("retrain:churn:1", status="done", result={"decision": "kept"})
        assert lease_store.claim("retrain:churn:1", "agent-c", lease_seconds=0, at=T0 + 999) is None
        done = lease_store.get("retrain:churn:1")
        assert done is not None and (done.status, done.result) == ("done", {"decision": "kept"})
        assert lease_store.get("nope") is None
        assert not lease_store.update("nope", status="done")
        assert [j.key for j in lease_store.jobs("done")] == ["retrain:churn:1"]
        assert lease_store.jobs("running") == []

    def test_jobs_are_listed_oldest_first(self, lease_store: LeaseStore) -> None:
        for i, key in enumerate(["c", "a", "b"]):
            lease_store.claim(key, "agent", lease_seconds=60, at=T0 + i)
        assert [j.key for j in lease_store.jobs()] == ["c", "a", "b"]

    def test_concurrent_claims_have_one_winner(self, lease_store: LeaseStore) -> None:
        won = hammer(1, 8, lambda: lease_store.claim("k", new_id(), lease_seconds=600))
        assert sum(job is not None for job in won) == 1
