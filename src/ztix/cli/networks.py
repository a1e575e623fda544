"""``ztix networks``: the IX networks of the runtime config, written to the database."""

from __future__ import annotations

import typer

from ztix.cli.common import ConfigOption, open_database, settings_or_exit
from ztix.workflow import audit, networks

app = typer.Typer(
    help="IX networks. They are declared in the runtime config (`networks:`); "
    "`sync` writes them to the database (serve does it at start).",
    no_args_is_help=True,
)


@app.command("sync")
def networks_sync(config: ConfigOption = None) -> None:
    """Write the networks declared in the runtime config to the database."""
    settings = settings_or_exit(config)
    with open_database(settings) as database, database.session() as db:
        changes = networks.sync_networks(db, audit.CLI, settings.networks)
    for line in changes or ["networks already in sync"]:
        typer.echo(line)


@app.command("list")
def networks_list(config: ConfigOption = None) -> None:
    """List IX networks in the database."""
    settings = settings_or_exit(config)
    with open_database(settings) as database, database.session() as db:
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
    typer.echo(f"{'NETWORK ID':<17} {'STATE':<9} {'IPV4':<18} {'IPV6':<24} NAME")
    for row in rows:
        typer.echo(f"{row[0]:<17} {row[1]:<9} {row[2]:<18} {row[3]:<24} {row[4]}")
