"""The approvals role: promotions waiting for another user's approval, and their decisions.

Interface (:class:`ApprovalStore`; ``conveyor.testing.approval_store_contract`` checks every implementation):

* ``create(request)`` stores a new :class:`~conveyor.core.entities.ApprovalRequest` (status "pending") and returns it.
* ``get(id)`` answers None for an unknown id; ``requests(status=None, model=None)`` lists them oldest first.
* ``decide(id, status, actor, *, reason="", at=None)`` moves a pending request to "approved" or "rejected" and
  answers the request as decided; of concurrent deciders exactly one wins, the others (and any decision on a request
  that is no longer pending) get None.
* Every method is safe to call from several threads and processes sharing the store; records handed out are copies.
"""

from __future__ import annotations

import abc
import copy
import threading

from conveyor.core.entities import ApprovalRequest, now

__all__ = ["DECISIONS", "ApprovalStore", "InMemoryApprovalStore"]

DECISIONS = ("approved", "rejected")


class ApprovalStore(abc.ABC):
    """Approval requests; see the module docstring for the contract."""

    url: str

    @abc.abstractmethod
    def create(self, request: ApprovalRequest) -> ApprovalRequest: ...

    @abc.abstractmethod
    def get(self, request_id: str) -> ApprovalRequest | None: ...

    @abc.abstractmethod
    def requests(self, status: str | None = None, model: str | None = None) -> list[ApprovalRequest]:
        """Oldest first."""

    def decide(self, request_id: str, status: str, actor: str, *, reason: str = "",
               at: float | None = None) -> ApprovalRequest | None:
        """Approve or reject a pending request; None when it is not pending (any more) or unknown."""
        if status not in DECISIONS:
            raise ValueError(f"a decision is one of {DECISIONS}, got {status!r}")
        return self._decide(request_id, status, actor, reason, now() if at is None else at)

    @abc.abstractmethod
    def _decide(self, request_id: str, status: str, actor: str, reason: str, at: float) -> ApprovalRequest | None:
        ...


class InMemoryApprovalStore(ApprovalStore):
    """Requests in a dict behind a lock."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._requests: dict[str, ApprovalRequest] = {}

    def create(self, request: ApprovalRequest) -> ApprovalRequest:
        with self._lock:
            self._requests[request.id] = copy.deepcopy(request)
            return copy.deepcopy(request)

    def get(self, request_id: str) -> ApprovalRequest | None:
        with self._lock:
            return copy.deepcopy(self._requests.get(request_id))

    def requests(self, status: str | None = None, model: str | None = None) -> list[ApprovalRequest]:
        with self._lock:
            found = [copy.deepcopy(r) for r in self._requests.values()
                     if (status is None or r.status == status) and (model is None or r.model == model)]
        return sorted(found, key=lambda r: r.created_at)

    def _decide(self, request_id: str, status: str, actor: str, reason: str, at: float) -> ApprovalRequest | None:
        with self._lock:
            found = self._requests.get(request_id)
            if found is None or found.status != "pending":
                return None
            found.status, found.decided_by, found.decided_at, found.decision_reason = status, actor, at, reason
            return copy.deepcopy(found)
