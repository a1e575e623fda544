"""``ztix users``: local accounts, their sessions and login lockouts."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from ztix.cli.common import ConfigOption, fail, open_database, refused, settings_or_exit
from ztix.errors import AppError
from ztix.workflow import audit, networks, users

app = typer.Typer(help="Local accounts.", no_args_is_help=True)


@app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Login name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    admin: Annotated[bool, typer.Option("--admin", help="Make an IX admin")] = False,
    asn: Annotated[list[str] | None, typer.Option("--asn", help="An ASN the user holds")] = None,
    network: Annotated[
        list[str] | None,
        typer.Option("--network", help="Restrict to this IX network ID (repeatable)"),
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Where notifications about requests go")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create a local account. The password comes from stdin, or is generated and printed."""
    from ztix.auth.passwords import generate_password
    from ztix.domain.identifiers import InvalidIdentifier, normalize_network_id, validate_asn

    settings = settings_or_exit(config)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else generate_password()
    try:
        asns = [
            validate_asn(a, allow_private=settings.workflow.allow_private_asns) for a in asn or []
        ]
        nwids = [normalize_network_id(n) for n in network or []]
        with open_database(settings) as database, database.session() as db:
            nets = []
            for nwid in nwids:
                found = networks.get_network(db, nwid)
                if found is None:
                    raise AppError(
                        "network_not_found", f"no IX network {nwid}; run `ztix networks sync`"
                    )
                nets.append(found)
            user = users.create_local_user(
                db,
                audit.CLI,
                username=username,
                password=password,
                admin=admin,
                asns=asns,
                networks=nets,
                email=email,
            )
            role = user.role
    except InvalidIdentifier as exc:
        raise refused(exc) from exc
    except ValueError as exc:
        raise fail(str(exc)) from exc
    except AppError as exc:
        raise refused(exc) from exc
    typer.echo(f"created {role} {username}")
    if not password_stdin:
        typer.echo(f"password: {password}")


@app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument()],
    config: ConfigOption = None,
) -> None:
    """Set a local account's password, read from standard input; its sessions are revoked."""
    settings = settings_or_exit(config)
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with open_database(settings) as database, database.session() as db:
            users.set_password(db, audit.CLI, username, password)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    except AppError as exc:
        raise refused(exc) from exc
    typer.echo(f"password of {username} changed")


@app.command("disable")
def users_disable(username: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Disable an account and revoke its sessions at once."""
    settings = settings_or_exit(config)
    try:
        with open_database(settings) as database, database.session() as db:
            users.disable_user(db, audit.CLI, username)
    except AppError as exc:
        raise refused(exc) from exc
    typer.echo(f"disabled {username}")


@app.command("unlock")
def users_unlock(
    username: Annotated[
        str | None, typer.Argument(help="Clear this username's counted login attempts")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help="Clear this client address's attempts and back-off"),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Lift a login lockout now instead of waiting for its window to end."""
    import ipaddress

    from ztix.auth.ratelimit import RateLimits

    settings = settings_or_exit(config)
    if username is None and address is None:
        raise fail("name a USERNAME, an --address, or both")
    if address is not None:
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError as exc:
            raise fail(f"{address!r} is not an IP address") from exc
    if settings.auth.rate_limit_storage.startswith("memory://"):
        raise fail(
            "auth.rate_limit_storage is memory://: the counts live inside the API process "
            "and end with it; restart the API to clear them (or share them in Redis)"
        )
    RateLimits(settings.auth).unlock(username=username, address=address)
    with open_database(settings) as database, database.session() as db:
        audit.record(
            db,
            audit.CLI,
            "login.unlocked",
            target_type="user",
            details={"username": username, "address": address},
        )
        db.commit()
    typer.echo("unlocked " + " and ".join(x for x in (username, address) if x))


@app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """List accounts with role, state and ASNs."""
    settings = settings_or_exit(config)
    with open_database(settings) as database, database.session() as db:
        rows = [
            (
                u.username,
                u.role,
                "active" if u.is_active else "disabled",
                ",".join(f"AS{a.asn}" for a in u.asns) or "-",
            )
            for u in users.list_users(db)
        ]
    typer.echo(f"{'USERNAME':<30} {'ROLE':<9} {'STATE':<9} ASNS")
    for name, role, state, asns in rows:
        typer.echo(f"{name:<30} {role:<9} {state:<9} {asns}")


@app.command("sessions")
def users_sessions(
    username: Annotated[str, typer.Argument()],
    revoke: Annotated[
        bool, typer.Option("--revoke", help="End the sessions (all, or the one of --id)")
    ] = False,
    session_id: Annotated[
        str | None, typer.Option("--id", help="With --revoke: the session whose ID starts so")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """List a user's sessions (created, last seen, address, method, expiry), or end them.

    The ID shown is the start of the session's stored digest, never the cookie itself."""
    if session_id is not None and not revoke:
        raise fail("--id needs --revoke")
    settings = settings_or_exit(config)
    try:
        with open_database(settings) as database, database.session() as db:
            if revoke:
                ended = users.revoke_sessions(db, audit.CLI, username, session_id)
                lines = [f"revoked {len(ended)} session(s) of {username}"]
            else:
                lines = _session_lines(db, username)
    except AppError as exc:
        raise refused(exc) from exc
    for line in lines:
        typer.echo(line)


def _session_lines(db: Session, username: str) -> list[str]:
    from ztix.db.base import utcnow
    from ztix.db.models import PeeringDBToken

    def when(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"

    sessions = users.user_sessions(db, username)
    now = utcnow()
    lines = [
        f"{'ID':<12}  {'CREATED':<20}  {'LAST SEEN':<20}  {'EXPIRES':<20}  "
        f"{'METHOD':<9}  {'STATE':<7}  ADDRESS"
    ]
    for s in sessions:
        state = "live" if s.expires_at > now else "expired"
        lines.append(
            f"{s.token_hash[:12]:<12}  {when(s.created_at):<20}  {when(s.last_seen_at):<20}  "
            f"{when(s.expires_at):<20}  {s.method:<9}  {state:<7}  {s.client_address or '-'}"
        )
    user = users.get_user_by_username(db, username)
    if user is not None and user.peeringdb_id is not None:
        token = db.get(PeeringDBToken, user.id)
        lines.append(
            f"PeeringDB: networks confirmed {when(user.peeringdb_checked_at)}, "
            + (
                f"last re-check attempt {when(token.last_attempt_at)}"
                + (f", error: {token.last_error}" if token.last_error else "")
                if token is not None
                else "no stored token (re-check impossible; logs in again at the maximum age)"
            )
        )
    return lines
