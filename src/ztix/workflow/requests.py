"""Join requests: creation, admin decisions and the member's own actions.

Every function here takes an open session and leaves committing to the caller; each status
change and its audit event are written together, and work for the job system is handed over
only after commit (:mod:`ztix.workflow.dispatch`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ztix.auth.caller import Caller
from ztix.config import ApprovalMode, Settings
from ztix.db.base import utcnow
from ztix.db.models import (
    IxNetwork,
    JoinRequest,
    RequestPolicyReason,
    RequestStatusCount,
    User,
)
from ztix.domain.identifiers import (
    InvalidIdentifier,
    normalize_network_id,
    normalize_node_id,
    validate_asn,
)
from ztix.domain.policy import Decision, member_summary
from ztix.domain.requests import (
    NODE_HOLDING_STATUSES,
    OPEN_STATUSES,
    InvalidTransition,
    RequestStatus,
    check_transition,
)
from ztix.errors import AppError
from ztix.peeringdb import cache as pdb_cache
from ztix.workflow import audit, dispatch, policy
from ztix.workflow.approval import Approval, checked
from ztix.workflow.audit import Actor
from ztix.workflow.networks import get_network

# Statuses after which the job system has work to do.
_NEEDS_WORK = frozenset({RequestStatus.APPROVED, RequestStatus.DEPROVISIONING})


def _identifier(fn: Any, value: object, **kwargs: Any) -> Any:
    try:
        return fn(value, **kwargs)
    except InvalidIdentifier as exc:
        raise AppError(exc.code, exc.detail) from exc


def user_asns(user: User | Caller) -> set[int]:
    return user.held_asns()


def networks_for(db: Session, user: User) -> list[IxNetwork]:
    """The active IX networks ``user`` may join: their grants, or all when they have none."""
    query = select(IxNetwork).where(IxNetwork.is_active).order_by(IxNetwork.name)
    granted = {g.network_id for g in user.network_grants}
    if granted and not user.is_admin:
        query = query.where(IxNetwork.id.in_(granted))
    return list(db.scalars(query))


def _adjust_counts(
    db: Session, network_id: int, old: RequestStatus | None, new: RequestStatus
) -> None:
    # Rows are touched in a fixed (alphabetical) order so that concurrent writers cannot
    # deadlock on the two counter rows of one network.
    deltas = {new.value: 1} if old is None else {old.value: -1, new.value: 1}
    for status in sorted(deltas):
        db.execute(
            update(RequestStatusCount)
            .where(
                RequestStatusCount.network_id == network_id,
                RequestStatusCount.status == status,
            )
            .values(count=RequestStatusCount.count + deltas[status])
        )


def transition(
    db: Session,
    request: JoinRequest,
    target: RequestStatus,
    actor: Actor,
    action: str,
    details: dict[str, Any] | None = None,
    *,
    only_from: RequestStatus | None = None,
) -> None:
    """Move ``request`` to ``target`` with its audit event, or raise ``invalid_transition``.

    ``only_from`` narrows an action to one source state where the state machine allows
    several (approving is for pending requests; failed ones are retried).
    """
    current = RequestStatus(request.status)
    try:
        if only_from is not None and current is not only_from:
            raise InvalidTransition(current, target)
        check_transition(current, target)
    except InvalidTransition as exc:
        raise AppError(
            "invalid_transition", str(exc), current_status=current.value, wanted_status=target.value
        ) from exc
    request.status = target
    request.updated_at = utcnow()
    _adjust_counts(db, request.network_id, current, target)
    audit.record(
        db,
        actor,
        action,
        target_type="request",
        target_id=request.id,
        request_id=request.id,
        from_status=current.value,
        to_status=target.value,
        details=details,
    )
    if target in _NEEDS_WORK:
        dispatch.after_commit(db, request.id)


def _open_request(db: Session, asn: int, network_id: int, node_id: str) -> JoinRequest | None:
    return db.scalar(
        select(JoinRequest).where(
            JoinRequest.asn == asn,
            JoinRequest.network_id == network_id,
            JoinRequest.node_id == node_id,
            JoinRequest.status.in_([s.value for s in OPEN_STATUSES]),
        )
    )


def _node_holder(db: Session, network_id: int, node_id: str) -> JoinRequest | None:
    return db.scalar(
        select(JoinRequest).where(
            JoinRequest.network_id == network_id,
            JoinRequest.node_id == node_id,
            JoinRequest.status.in_([s.value for s in NODE_HOLDING_STATUSES]),
        )
    )


def _duplicate(existing: JoinRequest) -> AppError:
    return AppError(
        "duplicate_open_request",
        f"request {existing.id} for AS{existing.asn} and node {existing.node_id} "
        f"is still {existing.status}",
        existing_request_id=str(existing.id),
        existing_status=str(existing.status),
    )


def node_conflict(
    db: Session,
    settings: Settings,
    user: User | None,
    *,
    asn: int,
    network: IxNetwork,
    node_id: str,
    request_id: uuid.UUID | None = None,
) -> AppError | None:
    """Why ``asn`` may not take ``node_id`` on ``network`` now, or None when it may.

    ``node_reserved`` for the IX's own nodes; ``duplicate_open_request`` when the ASN has an
    open request for the node; ``node_in_use`` when another ASN's request holds it, naming
    the holder only to those who may see that request (``user`` None: an admin's action).
    ``request_id`` is the request that wants the node (a retry), never its own conflict.
    """
    why = settings.reserved_node(node_id)
    if why is not None:
        detail = f"node {node_id} belongs to the IX's own equipment and cannot be requested"
        shown = {"reserved_by": why} if user is None or user.is_admin else {}
        return AppError("node_reserved", detail, **shown)
    existing = _open_request(db, asn, network.id, node_id)
    if existing is not None and existing.id != request_id:
        return _duplicate(existing)
    holder = _node_holder(db, network.id, node_id)
    if holder is None or holder.id == request_id:
        return None
    if user is None or user.is_admin or holder.asn in user_asns(user):
        return AppError(
            "node_in_use",
            f"node {node_id} is held on {network.name} by request {holder.id} of "
            f"AS{holder.asn} ({holder.status})",
            holder_request_id=str(holder.id),
            holder_asn=holder.asn,
            holder_status=str(holder.status),
        )
    return AppError(
        "node_in_use", f"node {node_id} is already used on {network.name} by another member"
    )


def take_node(
    db: Session,
    settings: Settings,
    user: User | None,
    request: JoinRequest,
    write: Callable[[], None],
) -> None:
    """Run ``write`` (an insert, or a retry's transition) that makes ``request`` hold its
    node, and flush it in a savepoint. A concurrent transaction that took the node between
    our check and this write trips a unique index; that becomes the same problem the check
    gives (never a 500)."""
    try:
        with db.begin_nested():
            write()
            db.flush()
    except IntegrityError:
        conflict = _conflict_for(db, settings, user, request)
        if conflict is None:
            raise
        raise conflict from None


def _conflict_for(
    db: Session, settings: Settings, user: User | None, request: JoinRequest
) -> AppError | None:
    return node_conflict(
        db,
        settings,
        user,
        asn=request.asn,
        network=request.network,
        node_id=request.node_id,
        request_id=request.id,
    )


class RequestRefused(AppError):
    """The eligibility policy refused a request. The refusal's audit event is in the
    session: the caller commits it before answering the error."""


@dataclass(frozen=True)
class NewRequest:
    """A join request's validated identifiers, before anything is written."""

    asn: int
    network: IxNetwork
    node_id: str


def validate_new_request(
    db: Session,
    settings: Settings,
    user: User,
    *,
    asn: object,
    zt_network_id: object,
    node_id: object,
) -> NewRequest:
    """Identifiers, ASN ownership, network grant, reserved nodes, the duplicate check and the
    node's owner: everything that refuses a request before the policy (and PeeringDB) is
    consulted."""
    allow_private = settings.workflow.allow_private_asns
    asn_value: int = _identifier(validate_asn, asn, allow_private=allow_private)
    node: str = _identifier(normalize_node_id, node_id)
    nwid: str = _identifier(normalize_network_id, zt_network_id)
    if not user.is_admin and asn_value not in user_asns(user):
        raise AppError("asn_not_authorized", f"you do not hold AS{asn_value}")
    network = get_network(db, nwid)
    if network is None or not network.is_active:
        raise AppError("network_not_found", f"no IX network {nwid}")
    if network not in networks_for(db, user):
        raise AppError("network_not_authorized", f"you may not join network {nwid}")
    conflict = node_conflict(db, settings, user, asn=asn_value, network=network, node_id=node)
    if conflict is not None:
        raise conflict
    return NewRequest(asn_value, network, node)


def create_request(
    db: Session,
    settings: Settings,
    user: User,
    actor: Actor,
    *,
    asn: object,
    zt_network_id: object,
    node_id: object,
    notes: str = "",
    peeringdb: policy.PeeringDBFetch | None = None,
) -> JoinRequest:
    """Validate, run the eligibility policy once, and insert the request with its verdict.

    A refused request raises :class:`RequestRefused` (``asn_not_eligible`` or
    ``network_not_eligible``) after recording ``request.refused``. Under ``policy_auto`` an
    ``allow`` verdict approves at once; otherwise the request stays ``pending`` with the
    verdict's reasons. ``peeringdb`` is a lookup made before the transaction, if any
    (:func:`ztix.workflow.policy.peeringdb_wanted`); its records are cached here.
    """
    new = validate_new_request(
        db, settings, user, asn=asn, zt_network_id=zt_network_id, node_id=node_id
    )
    if peeringdb is not None and peeringdb.records:
        pdb_cache.store(db, peeringdb.records)
    verdict = policy.evaluate(
        db,
        settings,
        asn=new.asn,
        network=new.network,
        holder=policy.holding(user, new.asn),
        fetched=peeringdb,
        serialize=True,
    )
    record = policy.as_record(verdict)
    identifiers = {
        "asn": new.asn,
        "zt_network_id": new.network.zt_network_id,
        "node_id": new.node_id,
    }
    if verdict.denied and verdict.denied_by is not None:
        audit.record(
            db,
            actor,
            "request.refused",
            target_type="asn",
            target_id=new.asn,
            details={**identifiers, "policy": record},
        )
        code = "asn_not_eligible"
        if verdict.decision is Decision.DENY_NETWORK:
            code = "network_not_eligible"
        raise RequestRefused(
            code, verdict.refusal, rule=verdict.denied_by.rule, check=verdict.denied_by.name
        )

    request = JoinRequest(
        asn=new.asn,
        network=new.network,
        node_id=new.node_id,
        notes=notes.strip(),
        status=RequestStatus.PENDING,
        created_by_id=user.id,
        policy_verdict=record,
        policy_summary=member_summary(record),
    )
    take_node(db, settings, user, request, lambda: db.add(request))
    db.add_all(RequestPolicyReason(request_id=request.id, reason=r.value) for r in verdict.reasons)
    _adjust_counts(db, new.network.id, None, RequestStatus.PENDING)
    audit.record(
        db,
        actor,
        "request.created",
        target_type="request",
        target_id=request.id,
        request_id=request.id,
        to_status=RequestStatus.PENDING.value,
        details={**identifiers, "policy": record},
    )
    if verdict.decision is Decision.ALLOW:
        request.approved_by_policy = True
        request.decided_at = utcnow()
        transition(
            db,
            request,
            RequestStatus.APPROVED,
            actor.via("policy"),
            "request.approved",
            {
                "by": "policy",
                "approval_mode": ApprovalMode.POLICY_AUTO.value,
                "checks_passed": [c.name for c in verdict.checks],
            },
        )
    return request


def lock_request(db: Session, request_id: uuid.UUID) -> JoinRequest:
    """Load a request for change, holding its row lock (PostgreSQL) until commit."""
    request = db.scalar(
        select(JoinRequest).where(JoinRequest.id == request_id).with_for_update(of=JoinRequest)
    )
    if request is None:
        raise AppError("request_not_found")
    return request


def visible_request(db: Session, user: User | Caller, request_id: uuid.UUID) -> JoinRequest:
    """A request the user may see; anyone else's answers ``request_not_found`` (never 403)."""
    request = db.get(JoinRequest, request_id)
    if request is None or (not user.is_admin and request.asn not in user_asns(user)):
        raise AppError("request_not_found")
    return request


def approve(
    db: Session, request_id: uuid.UUID, actor: Actor, approval: Approval | None = None
) -> JoinRequest:
    """Approve a ``pending`` request with the admin's settings (checked before anything)."""
    settings = checked(approval or Approval())
    request = lock_request(db, request_id)
    # Decision fields first: one UPDATE of the row, not two (each re-runs the FK checks).
    request.decided_by_id = actor.user_id
    request.decided_at = utcnow()
    request.approved_by_policy = False
    details = settings.apply(request)
    only = RequestStatus.PENDING
    transition(
        db, request, RequestStatus.APPROVED, actor, "request.approved", details, only_from=only
    )
    return request


def reject(db: Session, request_id: uuid.UUID, actor: Actor, reason: str) -> JoinRequest:
    reason = reason.strip()
    if not reason:
        raise AppError("reason_required", "say why the request is rejected")
    request = lock_request(db, request_id)
    transition(db, request, RequestStatus.REJECTED, actor, "request.rejected", {"reason": reason})
    request.decided_by_id = actor.user_id
    request.decided_at = utcnow()
    request.decision_reason = reason
    return request


def retry(db: Session, settings: Settings, request_id: uuid.UUID, actor: Actor) -> JoinRequest:
    """An admin sends a ``failed`` request back to ``approved``. A failed request has let go
    of its node, so the retry takes it again: refused ``node_in_use`` while another
    request holds it (or ``node_reserved``)."""
    request = lock_request(db, request_id)
    previous = {
        "attempts": request.attempts,
        "last_error_code": request.last_error_code,
        "last_error_system": request.last_error_system,
    }

    def to_approved() -> None:
        transition(
            db,
            request,
            RequestStatus.APPROVED,
            actor,
            "request.retried",
            previous,
            only_from=RequestStatus.FAILED,
        )

    if RequestStatus(request.status) is RequestStatus.FAILED:
        conflict = _conflict_for(db, settings, None, request)
        if conflict is not None:
            raise conflict
        take_node(db, settings, None, request, to_approved)
    else:
        to_approved()  # invalid_transition, naming the current state
    request.attempts = 0  # an admin retry starts a fresh attempt count
    return request


def cancel(db: Session, user: User | Caller, request_id: uuid.UUID, actor: Actor) -> JoinRequest:
    visible_request(db, user, request_id)
    request = lock_request(db, request_id)
    transition(db, request, RequestStatus.CANCELLED, actor, "request.cancelled")
    return request


def leave(db: Session, user: User | Caller, request_id: uuid.UUID, actor: Actor) -> JoinRequest:
    """The member asks to leave: ``active → deprovisioning``; the job removes the member."""
    visible_request(db, user, request_id)
    request = lock_request(db, request_id)
    transition(db, request, RequestStatus.DEPROVISIONING, actor, "request.leave_requested")
    request.attempts = 0
    return request


def deprovision(db: Session, request_id: uuid.UUID, actor: Actor) -> JoinRequest:
    """An admin removes a member: ``active → deprovisioning``."""
    request = lock_request(db, request_id)
    transition(db, request, RequestStatus.DEPROVISIONING, actor, "request.deprovisioned")
    request.attempts = 0
    return request
