"""``ztix requests``: the admin's request queue from a shell, so an IX can script onboarding.

Every command acts as the actor ``cli`` in the audit trail and prints a table or, with
``--json``, the same fields as the admin API (``GET /api/v1/admin/requests/{id}``). A
refusal prints ``error: detail (code)`` with the API's stable code and exits 1; nothing is
half-applied. Work for the job system (provisioning after ``approve``, ``retry`` and
``leave``) is handed to Celery when ``jobs.runner: celery``; otherwise the reconciler of the
running ``ztix serve`` picks it up within ``jobs.reconcile_interval_seconds``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ztix.cli.common import ConfigOption, fail, open_database, refused, settings_or_exit
from ztix.cli.common import whole_number as _whole
from ztix.config import Settings
from ztix.db.models import AuditEvent, JoinRequest
from ztix.db.session import Database
from ztix.domain.identifiers import InvalidIdentifier, normalize_network_id
from ztix.domain.requests import RequestStatus
from ztix.errors import AppError
from ztix.workflow import audit, dispatch, listing, networks, policy, users
from ztix.workflow import requests as service
from ztix.workflow.approval import MAX_PREFIX_LIMIT, Approval

app = typer.Typer(
    help="Join requests: list, inspect, create and decide them (the admin queue).",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
IdArg = Annotated[str, typer.Argument(help="The request's ID (a UUID)")]
MaxPrefix = Annotated[
    int | None,
    typer.Option(parser=_whole(1, MAX_PREFIX_LIMIT), help="Route-server import limit"),
]


def _request_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError as exc:
        raise fail(f"{text!r} is not a request ID (a UUID; see `ztix requests list`)") from exc


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def request_dict(r: JoinRequest) -> dict[str, Any]:
    """The admin API's fields of a request (AdminJoinRequestOut), as plain JSON values."""
    return {
        "id": str(r.id),
        "asn": r.asn,
        "zt_network_id": r.network.zt_network_id,
        "network_name": r.network.name,
        "node_id": r.node_id,
        "status": str(RequestStatus(r.status)),
        "notes": r.notes,
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
        "created_by": r.created_by.username if r.created_by else None,
        "decided_by": r.decided_by.username if r.decided_by else None,
        "decided_at": _iso(r.decided_at),
        "decision_reason": r.decision_reason,
        "approved_by_policy": r.approved_by_policy,
        "approval_note": r.approval_note,
        "max_prefix_ipv4_override": r.max_prefix_ipv4_override,
        "max_prefix_ipv6_override": r.max_prefix_ipv6_override,
        "attempts": r.attempts,
        "last_error": (
            {
                "code": r.last_error_code,
                "message": r.last_error_message,
                "system": r.last_error_system,
            }
            if r.last_error_code
            else None
        ),
        "addresses": sorted(a.address for a in r.addresses),
        "grant_lost_at": _iso(r.grant_lost_at),
        "policy_verdict": r.policy_verdict,
    }


def _event_dict(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "occurred_at": _iso(e.occurred_at),
        "actor": e.actor,
        "action": e.action,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "details": e.details,
    }


def _detail(db: Session, r: JoinRequest) -> dict[str, Any]:
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.request_id == r.id).order_by(AuditEvent.id)
    )
    return {**request_dict(r), "audit": [_event_dict(e) for e in events]}


TABLE = "{id:<36}  {status:<15} {asn:<12} {node_id:<10}  {network:<16}  {created:<16}  {by}"


def _row(r: dict[str, Any]) -> str:
    return TABLE.format(
        id=r["id"],
        status=r["status"],
        asn=f"AS{r['asn']}",
        node_id=r["node_id"],
        network=r["zt_network_id"],
        created=(r["created_at"] or "")[:16].replace("T", " "),
        by=r["created_by"] or "",
    )


def _print_detail(d: dict[str, Any]) -> None:
    typer.echo(f"request     {d['id']}")
    typer.echo(f"status      {d['status']}")
    typer.echo(f"member      AS{d['asn']}, node {d['node_id']}")
    typer.echo(f"network     {d['zt_network_id']} ({d['network_name']})")
    typer.echo(f"created     {d['created_at']} by {d['created_by'] or '-'}")
    if d["decided_at"]:
        how = "policy" if d["approved_by_policy"] else (d["decided_by"] or "cli")
        typer.echo(f"decided     {d['decided_at']} by {how}")
    if d["decision_reason"]:
        typer.echo(f"reason      {d['decision_reason']}")
    if d["approval_note"]:
        typer.echo(f"note        {d['approval_note']}")
    if d["max_prefix_ipv4_override"] or d["max_prefix_ipv6_override"]:
        v4 = d["max_prefix_ipv4_override"] or "-"
        v6 = d["max_prefix_ipv6_override"] or "-"
        typer.echo(f"max-prefix  IPv4 {v4}, IPv6 {v6} (admin override)")
    if d["addresses"]:
        typer.echo(f"addresses   {', '.join(d['addresses'])}")
    if d["last_error"]:
        err = d["last_error"]
        typer.echo(f"last error  {err['code']} ({err['system'] or '-'}): {err['message'] or ''}")
    typer.echo("audit:")
    for e in d["audit"]:
        move = f" {e['from_status'] or '-'} -> {e['to_status']}" if e["to_status"] else ""
        typer.echo(f"  {e['occurred_at'][:19]}  {e['actor']:<12} {e['action']}{move}")


def _emit(data: dict[str, Any] | list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    elif isinstance(data, list):
        typer.echo(
            TABLE.format(
                id="ID",
                status="STATUS",
                asn="ASN",
                node_id="NODE",
                network="NETWORK",
                created="CREATED (UTC)",
                by="BY",
            )
        )
        for row in data:
            typer.echo(_row(row))
    else:
        _print_detail(data)


def _dispatching(settings: Settings, database: Database) -> None:
    """Hand committed work to Celery when that is the job system; else the reconciler."""
    if settings.jobs.runner == "celery":
        from ztix.jobs.celery_publish import CeleryDispatcher, configure

        configure(settings)
        dispatch.install(database.sessionmaker, CeleryDispatcher())


def _decide(
    config: ConfigOption,
    request_id: str,
    as_json: bool,
    act: Callable[[Session, Settings, uuid.UUID], JoinRequest],
) -> None:
    settings = settings_or_exit(config)
    rid = _request_id(request_id)
    try:
        with open_database(settings) as database:
            _dispatching(settings, database)
            with database.sessionmaker() as db:  # commits itself, like an API handler
                request = act(db, settings, rid)
                db.commit()
                _emit(_detail(db, request), as_json)
    except AppError as exc:
        raise refused(exc) from exc


@app.command("list")
def requests_list(
    status: Annotated[
        list[RequestStatus] | None, typer.Option(help="Keep this status (repeatable)")
    ] = None,
    asn: Annotated[int | None, typer.Option(parser=_whole(0, 4_294_967_295))] = None,
    network: Annotated[str | None, typer.Option(help="IX network ID")] = None,
    limit: Annotated[int, typer.Option(parser=_whole(1, 10_000))] = 200,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """The request queue, newest first."""
    settings = settings_or_exit(config)
    with open_database(settings) as database, database.session() as db:
        network_pk: int | None = None
        if network is not None:
            try:
                row = networks.get_network(db, normalize_network_id(network))
            except InvalidIdentifier as exc:
                raise refused(exc) from exc
            if row is None:
                raise fail(f"no IX network {network} (see `ztix networks list`)")
            network_pk = row.id
        f = listing.RequestFilter(statuses=tuple(status or ()), asn=asn, network_id=network_pk)
        rows = [
            request_dict(r)
            for r in listing.list_requests(db, f, sort="-created_at", limit=limit, offset=0)
        ]
    _emit(rows, as_json)


@app.command("show")
def requests_show(
    request_id: IdArg, as_json: JsonOption = False, config: ConfigOption = None
) -> None:
    """A request with its policy verdict and its audit timeline."""
    settings = settings_or_exit(config)
    rid = _request_id(request_id)
    with open_database(settings) as database, database.session() as db:
        request = db.get(JoinRequest, rid)
        if request is None:
            raise fail(f"no request {rid} (request_not_found)")
        _emit(_detail(db, request), as_json)


@app.command("create")
def requests_create(
    user: Annotated[str, typer.Option("--user", help="The member account it is made for")],
    asn: Annotated[int, typer.Option(parser=_whole(0, 4_294_967_295))],
    node: Annotated[str, typer.Option(help="The member router's ZeroTier node ID")],
    network: Annotated[
        str | None, typer.Option(help="IX network ID (default: the only active one)")
    ] = None,
    notes: Annotated[str, typer.Option(help="Free text, shown to the admins")] = "",
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Make a join request for a member account, through the same checks and eligibility
    policy as the web app (under policy_auto it may be approved at once)."""
    settings = settings_or_exit(config)
    try:
        with open_database(settings) as database:
            _dispatching(settings, database)
            with database.sessionmaker() as db:  # commits itself, like an API handler
                account = users.get_user_by_username(db, user)
                if account is None:
                    raise AppError("user_not_found", f"no user {user!r}")
                nwid = network or _only_network(db)
                ids = {"asn": asn, "zt_network_id": nwid, "node_id": node}
                new = service.validate_new_request(db, settings, account, **ids)
                fetched = None
                if policy.peeringdb_wanted(db, settings, new.asn):
                    db.commit()  # no transaction is held while PeeringDB answers
                    fetched = policy.fetch_peeringdb(settings, new.asn)
                try:
                    request = service.create_request(
                        db, settings, account, audit.CLI, **ids, notes=notes, peeringdb=fetched
                    )
                except service.RequestRefused:
                    db.commit()  # the refusal stays in the audit trail
                    raise
                db.commit()
                _emit(_detail(db, request), as_json)
    except (AppError, InvalidIdentifier) as exc:
        raise refused(exc) from exc


def _only_network(db: Session) -> str:
    active = [n for n in networks.all_networks(db) if n.is_active]
    if len(active) != 1:
        raise AppError(
            "network_not_found", f"{len(active)} active IX networks: say which with --network"
        )
    return active[0].zt_network_id


@app.command("approve")
def requests_approve(
    request_id: IdArg,
    max_prefix_v4: MaxPrefix = None,
    max_prefix_v6: MaxPrefix = None,
    note: Annotated[str, typer.Option(help="A note for the other admins")] = "",
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Approve a pending request, optionally with its route-server import limits and a
    note; provisioning follows."""
    approval = Approval(max_prefix_v4, max_prefix_v6, note)
    _decide(
        config,
        request_id,
        as_json,
        lambda db, _s, rid: service.approve(db, rid, audit.CLI, approval),
    )


@app.command("reject")
def requests_reject(
    request_id: IdArg,
    reason: Annotated[str, typer.Option(help="Why; shown to the member")],
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Reject a pending request with a reason the member sees."""
    _decide(
        config, request_id, as_json, lambda db, _s, rid: service.reject(db, rid, audit.CLI, reason)
    )


@app.command("retry")
def requests_retry(
    request_id: IdArg, as_json: JsonOption = False, config: ConfigOption = None
) -> None:
    """Send a failed request back to approved with a fresh attempt count."""
    _decide(config, request_id, as_json, lambda db, s, rid: service.retry(db, s, rid, audit.CLI))


@app.command("leave")
def requests_leave(
    request_id: IdArg, as_json: JsonOption = False, config: ConfigOption = None
) -> None:
    """Take an active member off the IX (deauthorize, release its addresses, drop its
    route-server sessions)."""
    _decide(
        config, request_id, as_json, lambda db, _s, rid: service.deprovision(db, rid, audit.CLI)
    )
