"""DESIGN §3 request states: exactly these transitions, no others."""

from __future__ import annotations

import itertools

import pytest

from ztix.domain.requests import (
    CLOSED_STATUSES,
    InvalidTransition,
    RequestStatus,
    check_transition,
)

S = RequestStatus
ALLOWED = {
    (S.PENDING, S.APPROVED),
    (S.PENDING, S.REJECTED),
    (S.PENDING, S.CANCELLED),
    (S.APPROVED, S.PROVISIONING),
    (S.PROVISIONING, S.ACTIVE),
    (S.PROVISIONING, S.FAILED),
    (S.FAILED, S.APPROVED),
    (S.ACTIVE, S.DEPROVISIONING),
    (S.DEPROVISIONING, S.REMOVED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_only_design_transitions_are_allowed(current: S, target: S) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition):
            check_transition(current, target)


def test_closed_statuses() -> None:
    assert {S.REJECTED, S.CANCELLED, S.REMOVED} == CLOSED_STATUSES
