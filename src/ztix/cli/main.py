"""The ``ztix`` command line."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.orm import Session

from ztix import observability
from ztix.cli import controller, policy, routeservers
from ztix.cli.common import ConfigOption, fail, settings_or_exit, whole_number
from ztix.config import Settings
from ztix.db import migrate
from ztix.db.session import Database
from ztix.errors import AppError
from ztix.workflow import audit, networks, users

if TYPE_CHECKING:
    from ztix.zerotier.emulator import ControllerEmulator

app = typer.Typer(help="ZT-IX: control plane of a virtual Internet Exchange.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
users_app = typer.Typer(help="Local accounts.", no_args_is_help=True)
networks_app = typer.Typer(
    help="IX networks. They are declared in the runtime config (`networks:`); "
    "`sync` writes them to the database (serve does it at start).",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(networks_app, name="networks")
app.add_typer(controller.app, name="controller")
app.add_typer(routeservers.app, name="routeservers")
app.add_typer(policy.app, name="policy")


def _fail(exc: AppError) -> typer.Exit:
    return fail(f"{exc.detail} ({exc.code})")


def ensure_initial_admin(db: Session) -> str | None:
    """On a database with no admin, create ``admin`` with a generated password; return it."""
    from ztix.auth.passwords import generate_password

    if users.count_admins(db) > 0:
        return None
    password = generate_password()
    username = "admin"
    if users.get_user_by_username(db, username) is not None:
        username = "ixadmin"
    users.create_local_user(
        db,
        audit.SYSTEM,
        username=username,
        password=password,
        admin=True,
        display_name="Initial admin",
    )
    return f"{username}:{password}"


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Listen address")] = None,
    port: Annotated[
        int | None, typer.Option(parser=whole_number(1, 65535), help="Listen port")
    ] = None,
    migrate_db: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Upgrade the schema first")
    ] = True,
    workers: Annotated[int, typer.Option(parser=whole_number(1), help="HTTP worker processes")] = 1,
) -> None:
    """Run the API (and, in the embedded default, everything else) in this process."""
    import uvicorn

    settings = settings_or_exit(config)
    if config is not None:
        os.environ["ZTIX_CONFIG"] = str(config)  # the HTTP app (ztix.api.main) loads the same
    observability.configure_logging(settings.logging.level, json=True)
    if migrate_db:
        migrate.upgrade(settings.database_url)
    emulator = start_embedded_emulator(settings)
    database = Database(settings.database_url)
    gate_or_exit(settings, database)
    with database.session() as db:
        created = ensure_initial_admin(db)
    database.dispose()
    if created:
        username, password = created.split(":", 1)
        typer.echo(
            "\n  Created the initial admin account (the password is shown only this once):\n"
            f"    username: {username}\n    password: {password}\n",
            err=True,
        )
    shared_metrics: Path | None = None
    if workers > 1:  # each HTTP worker writes its samples where any of them can add them up
        path, own = observability.enter_multiprocess_mode()
        shared_metrics = path if own else None
    try:
        uvicorn.run(
            "ztix.api.main:app",
            factory=False,
            host=host or settings.server.host,
            port=port or settings.server.port,
            workers=workers,
            proxy_headers=False,
            log_level=settings.logging.level.lower(),
            # JSON lines in every HTTP worker process too, uvicorn's own loggers included.
            log_config=observability.logging_config(settings.logging.level, json=True),
        )
    finally:
        if emulator is not None:
            emulator.stop()
        if shared_metrics is not None:
            shutil.rmtree(shared_metrics, ignore_errors=True)


def start_embedded_emulator(settings: Settings) -> ControllerEmulator | None:
    """The embedded default's controller: the bundled emulator, on the configured URL."""
    conf = settings.zerotier.controller
    if settings.zerotier.provider != "controller" or not conf.embedded_emulator:
        return None
    from urllib.parse import urlsplit

    from ztix.zerotier.emulator import ControllerEmulator

    url = urlsplit(conf.url)
    emulator = ControllerEmulator(
        conf.emulator_home, host=url.hostname or "127.0.0.1", port=url.port or 9993
    )
    try:
        emulator.start()
    except OSError as exc:
        typer.echo(
            f"error: cannot start the embedded controller emulator on {conf.url}: {exc}", err=True
        )
        raise typer.Exit(1) from exc
    typer.echo(
        f"embedded ZeroTier controller emulator {emulator.address} on {emulator.url} "
        f"(state in {conf.emulator_home}; not for production)",
        err=True,
    )
    return emulator


def gate_or_exit(settings: Settings, database: Database) -> None:
    """The start-up gate (zerotier.startup_gate), then the networks table."""
    from ztix.workflow.controller import startup_check

    result = startup_check(settings, database)
    if result.must_stop:
        typer.echo(f"error: start-up gate: {result.reason}", err=True)
        raise typer.Exit(1)
    if not result.ready:
        typer.echo(
            f"warning: ZeroTier controller not ready, starting anyway: {result.reason}", err=True
        )
    if result.report is None:
        # No preflight ran (ZeroTier Central, or a controller we could not reach): networks
        # given by full ID can still be written; suffixes wait for the controller.
        with database.session() as db:
            for line in networks.sync_networks(db, audit.SYSTEM, settings.networks):
                typer.echo(line, err=True)
    else:
        for line in result.report.table_changes:
            typer.echo(line, err=True)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, revision: str = "head") -> None:
    """Upgrade the schema (default: to the newest revision)."""
    settings = settings_or_exit(config)
    migrate.upgrade(settings.database_url, revision)
    typer.echo(f"database at {migrate.current(settings.database_url)}")


@db_app.command("downgrade")
def db_downgrade(config: ConfigOption = None, revision: str = "-1") -> None:
    """Downgrade the schema (default: one revision; `base` removes every table)."""
    settings = settings_or_exit(config)
    migrate.downgrade(settings.database_url, revision)
    typer.echo(f"database at {migrate.current(settings.database_url) or 'base'}")


@db_app.command("current")
def db_current(config: ConfigOption = None) -> None:
    """Show the schema revision of the database and the newest one this code knows."""
    settings = settings_or_exit(config)
    typer.echo(f"current: {migrate.current(settings.database_url) or 'base'}")
    typer.echo(f"head:    {migrate.head()}")


@users_app.command("create")
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
    config: ConfigOption = None,
) -> None:
    """Create a local account. The password comes from stdin, or is generated and printed."""
    from ztix.auth.passwords import generate_password
    from ztix.domain.identifiers import InvalidIdentifier, normalize_network_id, validate_asn

    settings = settings_or_exit(config)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else generate_password()
    database = Database(settings.database_url)
    try:
        asns = [
            validate_asn(a, allow_private=settings.workflow.allow_private_asns) for a in asn or []
        ]
        nwids = [normalize_network_id(n) for n in network or []]
        with database.session() as db:
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
            )
            role = user.role
    except InvalidIdentifier as exc:
        typer.echo(f"error: {exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except AppError as exc:
        raise _fail(exc) from exc
    finally:
        database.dispose()
    typer.echo(f"created {role} {username}")
    if not password_stdin:
        typer.echo(f"password: {password}")


@users_app.command("set-password")
def users_set_password(
    username: Annotated[str, typer.Argument()],
    config: ConfigOption = None,
) -> None:
    """Set a local account's password, read from standard input; its sessions are revoked."""
    settings = settings_or_exit(config)
    password = sys.stdin.readline().rstrip("\r\n")
    database = Database(settings.database_url)
    try:
        with database.session() as db:
            users.set_password(db, audit.CLI, username, password)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except AppError as exc:
        raise _fail(exc) from exc
    finally:
        database.dispose()
    typer.echo(f"password of {username} changed")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Disable an account and revoke its sessions at once."""
    settings = settings_or_exit(config)
    database = Database(settings.database_url)
    try:
        with database.session() as db:
            users.disable_user(db, audit.CLI, username)
    except AppError as exc:
        raise _fail(exc) from exc
    finally:
        database.dispose()
    typer.echo(f"disabled {username}")


@users_app.command("unlock")
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
    database = Database(settings.database_url)
    try:
        with database.session() as db:
            audit.record(
                db,
                audit.CLI,
                "login.unlocked",
                target_type="user",
                details={"username": username, "address": address},
            )
            db.commit()
    finally:
        database.dispose()
    typer.echo("unlocked " + " and ".join(x for x in (username, address) if x))


@users_app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """List accounts with role, state and ASNs."""
    settings = settings_or_exit(config)
    database = Database(settings.database_url)
    with database.session() as db:
        rows = [
            (
                u.username,
                u.role,
                "active" if u.is_active else "disabled",
                ",".join(f"AS{a.asn}" for a in u.asns) or "-",
            )
            for u in users.list_users(db)
        ]
    database.dispose()
    typer.echo(f"{'USERNAME':<30} {'ROLE':<9} {'STATE':<9} ASNS")
    for name, role, state, asns in rows:
        typer.echo(f"{name:<30} {role:<9} {state:<9} {asns}")


@users_app.command("sessions")
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
    database = Database(settings.database_url)
    try:
        with database.session() as db:
            if revoke:
                ended = users.revoke_sessions(db, audit.CLI, username, session_id)
                lines = [f"revoked {len(ended)} session(s) of {username}"]
            else:
                lines = _session_lines(db, username)
    except AppError as exc:
        raise _fail(exc) from exc
    finally:
        database.dispose()
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


@networks_app.command("sync")
def networks_sync(config: ConfigOption = None) -> None:
    """Write the networks declared in the runtime config to the database."""
    settings = settings_or_exit(config)
    database = Database(settings.database_url)
    with database.session() as db:
        changes = networks.sync_networks(db, audit.CLI, settings.networks)
    database.dispose()
    for line in changes or ["networks already in sync"]:
        typer.echo(line)


@networks_app.command("list")
def networks_list(config: ConfigOption = None) -> None:
    """List IX networks in the database."""
    settings = settings_or_exit(config)
    database = Database(settings.database_url)
    with database.session() as db:
        rows = [
            (
                n.zt_network_id,
                "active" if n.is_active else "inactive",
                n.ipv4_prefix,
                n.ipv6_prefix,
                n.name,
            )
            for n in networks.all_networks(db)
        ]
    database.dispose()
    typer.echo(f"{'NETWORK ID':<17} {'STATE':<9} {'IPV4':<18} {'IPV6':<24} NAME")
    for row in rows:
        typer.echo(f"{row[0]:<17} {row[1]:<9} {row[2]:<18} {row[3]:<24} {row[4]}")


@app.command()
def worker(
    config: ConfigOption = None,
    concurrency: Annotated[
        int, typer.Option(parser=whole_number(1), help="Jobs run at once by this worker")
    ] = 2,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, threads or solo")] = "prefork",
    beat: Annotated[
        bool, typer.Option("--beat", help="Also run the periodic reconciler (one per site)")
    ] = False,
) -> None:
    """A Celery worker on Redis (jobs.runner: celery). It serves its Prometheus metrics on
    jobs.worker_metrics_host:jobs.worker_metrics_port (0: none)."""
    settings = settings_or_exit(config)
    if config is not None:
        os.environ["ZTIX_CONFIG"] = str(config)  # the tasks load the same settings
    observability.configure_logging(settings.logging.level, json=True)
    metrics = _worker_metrics(settings, pool)
    try:
        database = Database(settings.database_url)
        gate_or_exit(settings, database)
        database.dispose()
        _run_worker(settings, concurrency, pool, beat)
    finally:
        if metrics is not None:
            metrics.close()


def _worker_metrics(settings: Settings, pool: str) -> observability.WorkerMetricsServer | None:
    """The worker's metrics endpoint; a taken port is logged, not fatal (jobs come first)."""
    host, port = settings.jobs.worker_metrics_host, settings.jobs.worker_metrics_port
    if not port:
        return None
    try:
        # Prefork runs the jobs in child processes: their samples go through files.
        return observability.serve_worker_metrics(host, port, multiprocess=pool == "prefork")
    except OSError as exc:
        typer.echo(
            f"warning: cannot serve worker metrics on {host}:{port} ({exc.strerror}); "
            "running without them (set jobs.worker_metrics_port per worker)",
            err=True,
        )
        return None


def _run_worker(settings: Settings, concurrency: int, pool: str, beat: bool) -> None:
    from ztix.jobs.celery_app import configure

    celery = configure(settings)
    celery.conf.worker_hijack_root_logger = False  # keep the JSON lines
    argv = [
        "worker",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--loglevel={settings.logging.level}",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        argv.append("--beat")
    celery.worker_main(argv=argv)


@app.command()
def beat(
    config: ConfigOption = None,
    schedule: Annotated[Path, typer.Option(help="Beat's state file")] = Path(
        "var/celerybeat-schedule"
    ),
) -> None:
    """Celery beat alone: sends the reconciler task every jobs.reconcile_interval_seconds.
    Run exactly one beat per site (or one `ztix worker --beat`)."""
    from celery.apps.beat import Beat

    from ztix.jobs.celery_app import configure

    settings = settings_or_exit(config)
    schedule.parent.mkdir(parents=True, exist_ok=True)
    Beat(app=configure(settings), schedule=str(schedule), loglevel=settings.logging.level).run()
