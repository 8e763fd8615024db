"""The contract every :class:`~conveyor.store.approvals.ApprovalStore` keeps, as a pytest suite.

Subclass it in a test module and provide an ``approval_store`` fixture that yields a fresh, empty store per test
(see ``conveyor.testing.dataset_store_contract`` for the pattern).
"""

from __future__ import annotations

import itertools

from conveyor.core.entities import ApprovalRequest, new_id
from conveyor.store.approvals import ApprovalStore
from conveyor.testing.store_records import NESTED, T0, hammer

__all__ = ["ApprovalStoreContract"]


def _request(model: str = "churn", at: float = T0, **fields: object) -> ApprovalRequest:
    return ApprovalRequest(new_id(), model, 3, "prod", "ci-bot", created_at=at, **fields)  # type: ignore[arg-type]


class ApprovalStoreContract:
    """Subclass with an ``approval_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_a_request_is_stored_pending_and_read_back(self, approval_store: ApprovalStore) -> None:
        made = approval_store.create(_request(reason="ship it", details=NESTED))
        got = approval_store.get(made.id)
        assert got is not None
        assert (got.ref, got.environment, got.requester, got.status) == ("churn:3", "prod", "ci-bot", "pending")
        assert (got.reason, got.details, got.decided_by, got.decided_at) == ("ship it", NESTED, None, None)
        assert approval_store.get("nope") is None

    def test_a_decision_lands_once(self, approval_store: ApprovalStore) -> None:
        made = approval_store.create(_request())
        decided = approval_store.decide(made.id, "approved", "alice", reason="looks good", at=T0 + 5)
        assert decided is not None
        assert (decided.status, decided.decided_by, decided.decided_at, decided.decision_reason) == \
            ("approved", "alice", T0 + 5, "looks good")
        assert approval_store.decide(made.id, "rejected", "bob") is None
        again = approval_store.get(made.id)
        assert again is not None and (again.status, again.decided_by) == ("approved", "alice")
        assert approval_store.decide("nope", "approved", "alice") is None

    def test_requests_are_listed_oldest_first_and_filtered(self, approval_store: ApprovalStore) -> None:
        counter = itertools.count()
        made = [approval_store.create(_request(model, T0 + next(counter))) for model in ["b", "a", "b"]]
        approval_store.decide(made[0].id, "rejected", "alice")
        assert [r.id for r in approval_store.requests()] == [m.id for m in made]
        assert [r.id for r in approval_store.requests("pending")] == [made[1].id, made[2].id]
        assert [r.id for r in approval_store.requests(model="b")] == [made[0].id, made[2].id]
        assert [r.id for r in approval_store.requests("rejected", "b")] == [made[0].id]

    def test_concurrent_decisions_have_one_winner(self, approval_store: ApprovalStore) -> None:
        made = approval_store.create(_request())
        won = hammer(1, 8, lambda: approval_store.decide(made.id, "approved", new_id()))
        assert sum(result is not None for result in won) == 1
