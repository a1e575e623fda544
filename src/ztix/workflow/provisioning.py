"""Provisioning and leaving, as database steps around the calls to ZeroTier.

A job (``ztix.jobs.tasks``) runs: :func:`claim` (one short transaction: take the lease,
move ``approved → provisioning``, allocate addresses) → the provider call, with no
transaction open → :func:`succeed` or :func:`attempt_failed` (another short transaction).
Every step is idempotent: running it twice, late, or after another worker's lease expired
converges to the same result.
"""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ztix.config import RetryConfig, Settings
from ztix.db.base import utcnow
from ztix.db.models import AddressAssignment, JoinRequest
from ztix.domain.addressing import (
    AddressPlanExhausted,
    lowest_free_ipv4,
    lowest_free_ipv6,
)
from ztix.domain.requests import RequestStatus
from ztix.workflow import audit
from ztix.workflow.audit import Actor
from ztix.workflow.dispatch import route_servers_after_commit
from ztix.workflow.networks import reserved_addresses
from ztix.workflow.requests import transition
from ztix.zerotier.provider import Member, MemberSpec, ProviderError

S = RequestStatus
WORKER = Actor(name="worker")

# Statuses a job acts on, and what it does for each.
Kind = Literal["provision", "deprovision"]
# Audit actions are named "<stage>.<event>": provisioning.started, deprovisioning.succeeded.
_STAGE: dict[str, str] = {"provision": "provisioning", "deprovision": "deprovisioning"}
_KIND: dict[RequestStatus, Kind] = {
    S.APPROVED: "provision",
    S.PROVISIONING: "provision",
    S.DEPROVISIONING: "deprovision",
}


@dataclass(frozen=True)
class Work:
    """What a job must do for a request, decided under its lease."""

    request_id: uuid.UUID
    kind: Kind
    spec: MemberSpec
    attempt: int
    owner: str


def backoff_seconds(attempt: int, retry: RetryConfig, rng: random.Random | None = None) -> float:
    """Exponential back-off with "equal jitter": half fixed, half random."""
    ceiling = min(retry.cap_seconds, retry.base_seconds * 2 ** max(attempt - 1, 0))
    jitter = (rng or random.Random()).uniform(0, ceiling / 2)  # noqa: S311 (jitter, not crypto)
    return float(ceiling / 2 + jitter)


def member_name(request: JoinRequest) -> str:
    return f"AS{request.asn}"


# The lease owner of work the reconciler has (re-)dispatched and no worker has taken yet: a
# worker may take it at once; the reconciler does not dispatch it again before it expires.
QUEUED = "queued"


def _take_lease(
    db: Session,
    request_id: uuid.UUID,
    owner: str,
    settings: Settings,
    statuses: Iterable[RequestStatus] = _KIND,
) -> bool:
    """Atomically take the request's lease if nobody holds a live one, it is due, and it is
    in one of ``statuses``.

    A single conditional UPDATE: on PostgreSQL the row lock makes a concurrent claimer
    re-check the condition after we commit (and fail); on SQLite the write lock does.
    """
    now = utcnow()
    result = db.execute(
        update(JoinRequest)
        .where(
            JoinRequest.id == request_id,
            JoinRequest.status.in_([s.value for s in statuses]),
            or_(
                JoinRequest.lease_expires_at.is_(None),
                JoinRequest.lease_expires_at < now,
                JoinRequest.lease_owner == QUEUED,
            ),
            or_(JoinRequest.next_attempt_at.is_(None), JoinRequest.next_attempt_at <= now),
        )
        .values(
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=settings.jobs.lease_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def take_redispatch(db: Session, settings: Settings, limit: int = 500) -> list[uuid.UUID]:
    """The requests the reconciler must dispatch again, each given a ``QUEUED`` lease.

    Work is re-dispatched only once its lease has expired: a worker's lease past its end,
    the queued lease of an earlier re-dispatch past its end, or, for work no one leased yet,
    ``jobs.lease_seconds`` after it became due (its approval, or its retry time): the
    dispatch made then (or the runner's own retry) had that long to be picked up. So work
    waiting in a slow queue is not queued again on every pass. The conditional UPDATE
    makes concurrent reconcilers split the work instead of dispatching it twice.
    """
    now = utcnow()
    lease = timedelta(seconds=settings.jobs.lease_seconds)
    expired = or_(
        JoinRequest.lease_expires_at < now,
        (JoinRequest.lease_expires_at.is_(None))
        & or_(
            JoinRequest.next_attempt_at < now - lease,
            JoinRequest.next_attempt_at.is_(None) & (JoinRequest.updated_at < now - lease),
        ),
    )
    due = (
        JoinRequest.status.in_([s.value for s in _KIND]),
        or_(JoinRequest.next_attempt_at.is_(None), JoinRequest.next_attempt_at <= now),
        expired,
    )
    candidates = list(
        db.scalars(
            select(JoinRequest.id)
            .where(*due)
            .order_by(JoinRequest.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not candidates:
        return []
    taken = db.scalars(
        update(JoinRequest)
        .where(JoinRequest.id.in_(candidates), *due)
        .values(lease_owner=QUEUED, lease_expires_at=now + lease)
        .returning(JoinRequest.id)
        .execution_options(synchronize_session=False)
    )
    return list(taken)


def _allocate(db: Session, settings: Settings, request: JoinRequest) -> None:
    """Give the request one IPv4 and one IPv6 address if it has none yet.

    The unique constraint on (network, address) is the guard: when a concurrent worker took
    the address we computed, the insert fails and we compute again.
    """
    net = request.network
    declared = settings.network_config(net.zt_network_id)
    # Reserved ranges, blackhole next hops and the route servers' own addresses.
    reserved = reserved_addresses(settings, declared) if declared else []
    for family in (4, 6):
        if request.address(family) is not None:
            continue
        for _ in range(50):
            taken_rows = db.scalars(
                select(AddressAssignment.address).where(
                    AddressAssignment.network_id == net.id,
                    AddressAssignment.family == family,
                    *([AddressAssignment.asn == request.asn] if family == 6 else []),
                )
            ).all()
            taken = [ipaddress.ip_address(a) for a in taken_rows]
            if family == 4:
                address: ipaddress.IPv4Address | ipaddress.IPv6Address = lowest_free_ipv4(
                    ipaddress.IPv4Network(net.ipv4_prefix),
                    [a for a in taken if isinstance(a, ipaddress.IPv4Address)],
                    [a for a in reserved if a.version == 4],
                )
            else:
                address = lowest_free_ipv6(
                    ipaddress.IPv6Network(net.ipv6_prefix),
                    request.asn,
                    [a for a in taken if isinstance(a, ipaddress.IPv6Address)],
                    [a for a in reserved if a.version == 6],
                )
            row = AddressAssignment(
                network_id=net.id,
                request_id=request.id,
                family=family,
                address=str(address),
                asn=request.asn,
            )
            try:
                with db.begin_nested():
                    db.add(row)
                    db.flush()
            except IntegrityError:
                continue  # somebody else got it first; look again
            request.addresses.append(row)
            break
        else:
            raise AddressPlanExhausted(f"could not allocate an IPv{family} address")


def claim(db: Session, settings: Settings, request_id: uuid.UUID, owner: str) -> Work | None:
    """Take the request for one attempt, or None when there is nothing to do right now
    (another worker holds it, it is not due, or its status needs no work)."""
    if not _take_lease(db, request_id, owner, settings):
        return None
    request = db.get(JoinRequest, request_id, populate_existing=True)
    assert request is not None
    status = RequestStatus(request.status)
    kind = _KIND[status]
    request.attempts += 1
    request.next_attempt_at = None
    stage = _STAGE[kind]
    if status is S.APPROVED:
        transition(
            db,
            request,
            S.PROVISIONING,
            WORKER,
            "provisioning.started",
            {"attempt": request.attempts},
        )
    else:
        # A retry, a takeover after an expired lease, or the first step of leaving.
        event = "started" if request.attempts == 1 else "attempt_started"
        audit.record(
            db,
            WORKER,
            f"{stage}.{event}",
            target_type="request",
            target_id=request.id,
            request_id=request.id,
            details={"attempt": request.attempts},
        )
    if kind == "provision":
        _allocate(db, settings, request)
        spec = MemberSpec(
            network_id=request.network.zt_network_id,
            node_id=request.node_id,
            authorized=True,
            ip_assignments=tuple(a.address for a in request.addresses),
            name=member_name(request),
        )
    else:
        spec = MemberSpec(
            network_id=request.network.zt_network_id,
            node_id=request.node_id,
            authorized=False,
            ip_assignments=(),
            name=member_name(request),
        )
    return Work(request_id, kind, spec, request.attempts, owner)


def _holding(db: Session, request_id: uuid.UUID, owner: str) -> JoinRequest | None:
    """The request, if this worker still holds its lease (else another took over)."""
    # `of=`: lock the request row only. JoinRequest.network is joined eagerly, and a plain
    # FOR UPDATE would lock the network's row too, which deadlocks on PostgreSQL against
    # approvals whose foreign-key checks share that row (found by bench/provisioning.py).
    request = db.scalar(
        select(JoinRequest).where(JoinRequest.id == request_id).with_for_update(of=JoinRequest)
    )
    if request is None or request.lease_owner != owner:
        return None
    return request


def lease_for_repair(db: Session, settings: Settings, request_id: uuid.UUID, owner: str) -> bool:
    """Lease an active request while the reconciler repairs its member. Its leave cannot
    start meanwhile, so its node cannot pass to another request during the repair, and
    the repair never writes over another owner's member. False: it is no longer active,
    or a job holds it; the member is not the repair's to touch now."""
    return _take_lease(db, request_id, owner, settings, statuses=(S.ACTIVE,))


def end_repair(db: Session, request_id: uuid.UUID, owner: str) -> JoinRequest | None:
    """Give back a repair's lease; the request if it was still held (and may be recorded)."""
    request = _holding(db, request_id, owner)
    if request is not None:
        _release(request)
    return request


def _release(request: JoinRequest) -> None:
    request.lease_owner = None
    request.lease_expires_at = None


def _record_member(request: JoinRequest, member: Member | None, system: str) -> None:
    request.zt_provider = system
    request.zt_authorized = member.authorized if member else False
    request.zt_revision = member.revision if member else None
    request.zt_synced_at = utcnow()


ActivationGate = Callable[[Session, JoinRequest], bool]


def always_ready(_db: Session, _request: JoinRequest) -> bool:
    """With no route servers configured, a member is active once authorized."""
    return True


def succeed(
    db: Session,
    work: Work,
    member: Member | None,
    system: str,
    gate: ActivationGate = always_ready,
    recheck_after: float = 120.0,
) -> bool:
    """Record a successful provider call; returns False when the lease had been lost.

    A member waiting for the route servers stays ``provisioning``: the route-server sync
    activates it; ``recheck_after`` seconds later the reconciler looks again regardless.
    """
    request = _holding(db, work.request_id, work.owner)
    if request is None:
        return False
    _record_member(request, member, system)
    request.last_error_code = request.last_error_message = request.last_error_system = None
    if work.kind == "provision" and RequestStatus(request.status) is S.PROVISIONING:
        if not gate(db, request):
            request.next_attempt_at = utcnow() + timedelta(seconds=recheck_after)
            audit.record(
                db,
                WORKER,
                "provisioning.waiting_for_route_servers",
                target_type="request",
                target_id=request.id,
                request_id=request.id,
                details={"attempt": work.attempt},
            )
        else:
            transition(
                db,
                request,
                S.ACTIVE,
                WORKER,
                "provisioning.succeeded",
                {
                    "attempt": work.attempt,
                    "system": system,
                    "ipv4": request.address(4),
                    "ipv6": request.address(6),
                },
            )
    elif work.kind == "deprovision":
        released = [a.address for a in request.addresses]
        db.execute(delete(AddressAssignment).where(AddressAssignment.request_id == request.id))
        request.addresses.clear()
        route_servers_after_commit(db)  # take its sessions off the route servers
        transition(
            db,
            request,
            S.REMOVED,
            WORKER,
            "deprovisioning.succeeded",
            {
                "attempt": work.attempt,
                "system": system,
                "released": released,
            },
        )
    _release(request)
    return True


def attempt_failed(
    db: Session,
    settings: Settings,
    work: Work,
    error: ProviderError | AddressPlanExhausted,
    *,
    now: datetime | None = None,
) -> float | None:
    """Record a failed attempt. Returns the delay before the next attempt, or None when the
    request gave up (``failed``) or the lease had been lost."""
    request = _holding(db, work.request_id, work.owner)
    if request is None:
        return None
    if isinstance(error, ProviderError):
        code, system, retryable = error.code, error.system, error.retryable
        message, hint = error.message, error.retry_after
    else:
        code, system, retryable, message, hint = (
            "address_plan_exhausted",
            "ztix",
            False,
            str(error),
            None,
        )
    request.last_error_code = code
    request.last_error_message = message[:2000]
    request.last_error_system = system
    details = {"attempt": work.attempt, "code": code, "system": system, "message": message[:500]}
    _release(request)
    max_attempts = settings.jobs.retry.max_attempts
    keeps_trying = work.kind == "deprovision"  # leaving has no failed state: it must finish
    if retryable and (work.attempt < max_attempts or keeps_trying):
        delay = backoff_seconds(min(work.attempt, max_attempts), settings.jobs.retry)
        if hint is not None:
            delay = max(delay, hint)
        request.next_attempt_at = (now or utcnow()) + timedelta(seconds=delay)
        audit.record(
            db,
            WORKER,
            f"{_STAGE[work.kind]}.attempt_failed",
            target_type="request",
            target_id=request.id,
            request_id=request.id,
            details={**details, "retry_in_seconds": round(delay, 3)},
        )
        return delay
    if work.kind == "deprovision":
        # Not retryable (bad token, network gone): stay deprovisioning for an admin to fix;
        # the reconciler tries again at the slowest pace.
        request.next_attempt_at = (now or utcnow()) + timedelta(
            seconds=settings.jobs.retry.cap_seconds
        )
        audit.record(
            db,
            WORKER,
            "deprovisioning.attempt_failed",
            target_type="request",
            target_id=request.id,
            request_id=request.id,
            details=details,
        )
        return None
    transition(db, request, S.FAILED, WORKER, "provisioning.gave_up", details)
    return None
