"""The ``ztix`` command line."""

from __future__ import annotations

import gc
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.orm import Session

from ztix import observability
from ztix.cli import controller, irr, lab, networks, policy, routeservers, users
from ztix.cli import requests as join_requests
from ztix.cli.banner import banner, log_as_json
from ztix.cli.common import ConfigOption, open_database, settings_or_exit, whole_number
from ztix.config import Settings
from ztix.db import migrate
from ztix.db.session import Database
from ztix.workflow import audit
from ztix.workflow import networks as ix_networks
from ztix.workflow import users as accounts

if TYPE_CHECKING:
    from ztix.routeserver.embedded import EmbeddedRouteServer
    from ztix.zerotier.emulator import ControllerEmulator

app = typer.Typer(help="ZT-IX: control plane of a virtual Internet Exchange.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(networks.app, name="networks")
app.add_typer(controller.app, name="controller")
app.add_typer(routeservers.app, name="routeservers")
app.add_typer(policy.app, name="policy")
app.add_typer(irr.app, name="irr")
app.add_typer(join_requests.app, name="requests")
app.add_typer(lab.app, name="lab")


def ensure_initial_admin(db: Session) -> str | None:
    """On a database with no admin, create ``admin`` with a generated password; return it."""
    from ztix.auth.passwords import generate_password

    if accounts.count_admins(db) > 0:
        return None
    password = generate_password()
    username = "admin"
    if accounts.get_user_by_username(db, username) is not None:
        username = "ixadmin"
    accounts.create_local_user(
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
    # SIGTERM (systemd, a container, `kill`) must end serve through its `finally`, which stops
    # the embedded BIRD and StayRTR: Python's default action ends the process on the spot,
    # and uvicorn, once it has shut down, raises the signal it caught again with the handler
    # it found, so without this one they were left running.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    settings = settings_or_exit(config)
    if config is not None:
        os.environ["ZTIX_CONFIG"] = str(config)  # the HTTP app (ztix.api.main) loads the same
    json_logs = log_as_json(settings)
    observability.configure_logging(settings.logging.level, json=json_logs)
    if migrate_db:
        migrate.upgrade(settings.database_url)
    emulator = start_embedded_emulator(settings)
    route_server: EmbeddedRouteServer | None = None
    try:  # whatever stops serve from here on stops what it started
        route_server = start_embedded_route_server(settings)
        if route_server is None and settings.routeservers.embedded.enabled:
            # Carry on without it: members become active without a route server.
            os.environ["ZTIX_ROUTESERVERS__EMBEDDED__ENABLED"] = "false"
            settings = settings_or_exit(config)
        with open_database(settings) as database:
            gate_or_exit(settings, database)
            with database.session() as db:
                created = ensure_initial_admin(db)
                admins = [u.username for u in accounts.list_users(db) if u.role == "admin"]
        listen_host, listen_port = host or settings.server.host, port or settings.server.port
        first_admin = created.partition(":")[::2] if created else None
        typer.echo(
            banner(
                settings,
                host=listen_host,
                port=listen_port,
                created_admin=first_admin,
                admins=admins,
                json_logs=json_logs,
            ),
            err=True,
        )
        shared_metrics: Path | None = None
        if workers > 1:  # each HTTP worker writes its samples where any of them can add them up
            path, own = observability.enter_multiprocess_mode()
            shared_metrics = path if own else None
        options = {
            "host": listen_host,
            "port": listen_port,
            "workers": workers,
            "log_level": settings.logging.level,
            "json_logs": json_logs,
            "remove_dir": str(shared_metrics) if shared_metrics else None,
        }
        if emulator is None and route_server is None:
            # Nothing of ours to stop later: from here on this process only supervises the
            # HTTP workers; it becomes ztix.supervisor (exec: same PID), which imports uvicorn
            # and nothing of ours.
            from ztix.supervisor import exec_supervisor

            exec_supervisor(options)
        # The embedded default's emulator and route server are managed by this process: it
        # stays, and so does all it imported (a development set-up).
        from ztix.supervisor import run

        run(options)
    finally:
        if route_server is not None:
            route_server.stop()
        if emulator is not None:
            emulator.stop()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)  # asked to stop, and stopped: a success


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


def start_embedded_route_server(settings: Settings) -> EmbeddedRouteServer | None:
    """The embedded default's BIRD and StayRTR (routeservers.embedded), when they can run;
    otherwise one line saying why, and None."""
    conf = settings.routeservers.embedded
    if not conf.enabled:
        return None
    from ztix.routeserver.embedded import EmbeddedError, EmbeddedRouteServer, unavailable

    why = unavailable(conf)
    if why is None:
        route_server = EmbeddedRouteServer(conf)
        try:
            typer.echo(route_server.start(), err=True)
        except EmbeddedError as exc:
            why = str(exc)
        else:
            return route_server
    typer.echo(f"warning: no embedded route server ({why}); running without one", err=True)
    return None


def gate_or_exit(settings: Settings, database: Database) -> None:
    """The start-up gate (zerotier.startup_gate), then the networks table."""
    from ztix.workflow.controller import startup_check
    from ztix.zerotier.lifecycle import ARCHIVES

    result = startup_check(settings, database, archives=ARCHIVES)
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
            for line in ix_networks.sync_networks(db, audit.SYSTEM, settings.networks):
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
    observability.configure_logging(settings.logging.level, json=log_as_json(settings))
    metrics = _worker_metrics(settings, pool)
    try:
        with open_database(settings) as database:
            gate_or_exit(settings, database)
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
    # The pool's processes are forks of this one. What start-up built (modules, the app,
    # settings) is moved out of the collector's sight first: a fork's collections would
    # otherwise write to every object's header and copy the pages it shares with this
    # process (each fork then holds its own copy: issue 17, P6).
    gc.collect()
    gc.freeze()
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
