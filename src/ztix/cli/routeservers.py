"""``ztix routeservers …``: render, sync and inspect the BIRD 2 route servers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ztix.cli.common import ConfigOption, fail, open_database, refused, settings_or_exit
from ztix.config import RouteServerConfig, Settings
from ztix.db.models import RouteServerState
from ztix.errors import AppError
from ztix.jobs.tasks import worker_name
from ztix.routeserver.deploy import BirdDeployer
from ztix.routeserver.render import render, render_hash, render_host_config
from ztix.routeserver.status import read_sessions
from ztix.workflow import audit
from ztix.workflow import routeserver_desired as desired_state
from ztix.workflow.routeserver_drain import set_drained
from ztix.workflow.routeservers import RouteServerContext, sync_round

app = typer.Typer(help="BIRD 2 route servers: render, sync, status.", no_args_is_help=True)
NameArg = Annotated[str | None, typer.Argument(help="One route server (default: all)")]


def _servers(settings: Settings, name: str | None) -> list[RouteServerConfig]:
    servers = desired_state.enabled_servers(settings)
    if name is not None:
        servers = [rs for rs in settings.routeservers.servers if rs.name == name]
        if not servers:
            raise fail(f"no route server {name!r} in the configuration")
    if not servers:
        raise fail("no route servers are configured (routeservers.servers)")
    return servers


@app.command("render")
def render_command(
    name: NameArg = None,
    out: Annotated[Path | None, typer.Option(help="Write the files under DIR/<server>/")] = None,
    config: ConfigOption = None,
) -> None:
    """Render each server's configuration from the database, without applying it."""
    settings = settings_or_exit(config)
    # A read session: on SQLite a writing one would hold the write lock while every
    # server's members are read and rendered (seconds at 2,000 members).
    with open_database(settings) as db_, db_.read_session() as db:
        for rs in _servers(settings, name):
            desired, limits = desired_state.build(db, settings, rs)
            files = render(desired)
            typer.echo(
                f"{rs.name}: {len(files)} files, {len(desired.peers)} peers, "
                f"hash {render_hash(files)[:16]}"
            )
            for lim in limits:
                typer.echo(
                    f"  AS{lim.asn}: max-prefix {lim.limits.ipv4}/{lim.limits.ipv6} "
                    f"({lim.limits.source})"
                )
            if out is not None:
                for path, text in files.items():
                    target = out / rs.name / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
                typer.echo(f"  written to {out / rs.name}")


@app.command("sync")
def sync_command(name: NameArg = None, config: ConfigOption = None) -> None:
    """Apply the desired configuration now (in pair order; stops at the first failure)."""
    settings = settings_or_exit(config)
    _sync(settings, _servers(settings, name))


def _drain(name: str, config: Path | None, drained: bool) -> None:
    settings = settings_or_exit(config)
    with open_database(settings) as db_:
        try:
            with db_.session() as db:
                state = set_drained(db, settings, audit.CLI, name, drained)
                db.commit()
        except AppError as exc:
            raise refused(exc) from None
    word = "drained" if drained else "undrained"
    typer.echo(f"{name}: {word}" if state.changed else f"{name}: already {word}")
    _sync(settings, _servers(settings, name))


@app.command("drain")
def drain_command(
    name: Annotated[str, typer.Argument(help="The route server to drain")],
    config: ConfigOption = None,
) -> None:
    """Drain a route server for maintenance: it adds GRACEFUL_SHUTDOWN (65535:0) to every
    route it exports, so members prefer the other server. Applied now with a normal sync.
    Refused while another server of the same network is drained."""
    _drain(name, config, True)


@app.command("undrain")
def undrain_command(
    name: Annotated[str, typer.Argument(help="The route server to bring back")],
    config: ConfigOption = None,
) -> None:
    """Undo ``drain``: the server exports its routes without GRACEFUL_SHUTDOWN again."""
    _drain(name, config, False)


def _sync(settings: Settings, servers: list[RouteServerConfig]) -> None:
    from ztix.peeringdb.api import PeeringDBApi

    with open_database(settings) as db:
        ctx = RouteServerContext(
            settings,
            db,
            owner=f"cli:{worker_name()}",
            peeringdb=PeeringDBApi(settings.peeringdb_api),
        )
        outcomes = sync_round(ctx, BirdDeployer(), {rs.name for rs in servers}, verify=True)
    failed = False
    for outcome in outcomes:
        line = f"{outcome.server}: {outcome.result}"
        if outcome.stage:
            line += f" at stage {outcome.stage}: {outcome.detail.strip()[:300]}"
        typer.echo(line)
        failed = failed or outcome.result in ("failed", "busy")
    if failed:
        raise typer.Exit(1)


@app.command("status")
def status_command(name: NameArg = None, config: ConfigOption = None) -> None:
    """Each server's last sync and its BGP sessions (`birdc show protocols all`)."""
    settings = settings_or_exit(config)
    servers = _servers(settings, name)
    unhealthy = False
    with open_database(settings) as db_, db_.session() as db:
        states = {rs.name: db.get(RouteServerState, rs.name) for rs in servers}
        rows = {
            n: (
                s.last_result,
                s.last_sync_at,
                s.desired_hash == s.applied_hash,
                s.last_stage,
                s.drained,
            )
            for n, s in states.items()
            if s is not None
        }
    for rs in servers:
        result, at, in_sync, stage, drained = rows.get(rs.name, (None, None, False, None, False))
        typer.echo(
            f"{rs.name} ({rs.host or 'local'}): last sync {result or 'never'}"
            f"{f' at {at:%Y-%m-%d %H:%M:%S}Z' if at else ''}"
            f"{f' (stage {stage})' if result == 'failed' else ''}, "
            f"{'in sync' if in_sync else 'NOT in sync'}"
            f"{', DRAINED (graceful shutdown on every export)' if drained else ''}"
        )
        sessions = read_sessions(rs, max_age=0)
        if not sessions.ok:
            typer.echo(f"  unreachable: {sessions.error}")
            unhealthy = True
            continue
        bgp = [p for p in sessions.protocols.values() if p.proto.upper() == "BGP"]
        for proto in sorted(bgp, key=lambda p: p.name):
            typer.echo(
                f"  {proto.name:<32} {proto.state:<6} {proto.info:<14} "
                f"imported {proto.imported} filtered {proto.filtered} exported {proto.exported}"
            )
    if unhealthy:
        raise typer.Exit(1)


@app.command("host-config")
def host_config_command(
    name: Annotated[str, typer.Argument(help="The route server, as named in the config")],
    log_file: Annotated[str | None, typer.Option(help="Log to this file instead of syslog")] = None,
    config: ConfigOption = None,
) -> None:
    """Print the bird.conf skeleton for this route server's host: router ID, device
    protocol, logging and the include of ZT-IX's files (which hold the RPKI protocols). Put it
    at routeservers.servers[].main_config on the host, then `ztix routeservers sync NAME`."""
    settings = settings_or_exit(config)
    matches = [rs for rs in settings.routeservers.servers if rs.name == name]
    if not matches:
        raise fail(f"no route server {name!r} in the configuration")
    rs = matches[0]
    with open_database(settings) as db_, db_.read_session() as db:
        desired, _ = desired_state.build(db, settings, rs)
    typer.echo(render_host_config(desired.server, log_file=log_file), nl=False)
    typer.echo(
        f"# Save as {rs.main_config} on the host; ZT-IX writes under {rs.config_dir}.",
        err=True,
    )
