"""The join-request state machine (DESIGN §3). Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"
    DEPROVISIONING = "deprovisioning"
    REMOVED = "removed"


S = RequestStatus

ALLOWED_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.PROVISIONING}),
    S.PROVISIONING: frozenset({S.ACTIVE, S.FAILED}),
    S.FAILED: frozenset({S.APPROVED}),
    S.ACTIVE: frozenset({S.DEPROVISIONING}),
    S.DEPROVISIONING: frozenset({S.REMOVED}),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REMOVED: frozenset(),
}

# A request in one of these states no longer blocks a new one for the same
# (ASN, network, node); everything else is "open".
CLOSED_STATUSES: frozenset[RequestStatus] = frozenset({S.REJECTED, S.CANCELLED, S.REMOVED})
OPEN_STATUSES: frozenset[RequestStatus] = frozenset(RequestStatus) - CLOSED_STATUSES
# A request in one of these states holds its node on its IX network: at most one request,
# of any ASN, holds a (network, node) at a time. A failed request has let go of its node
# (no job works on it any more); a retry takes the node again or is refused `node_in_use`.
NODE_HOLDING_STATUSES: frozenset[RequestStatus] = OPEN_STATUSES - {S.FAILED}


class InvalidTransition(Exception):
    def __init__(self, current: RequestStatus, target: RequestStatus) -> None:
        super().__init__(f"a {current} request cannot become {target}")
        self.current = current
        self.target = target


def check_transition(current: RequestStatus, target: RequestStatus) -> None:
    """Raise :class:`InvalidTransition` unless ``current → target`` is in the state machine."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(current, target)
