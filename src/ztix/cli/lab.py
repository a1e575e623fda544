"""``ztix lab``: the whole exchange on this machine with live member routers (dev tool)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ztix.cli.common import whole_number

if TYPE_CHECKING:
    from ztix.lab.plan import Plan

app = typer.Typer(
    help="A peering LAN of network namespaces with route servers and member routers (root).",
    no_args_is_help=True,
)

RootOption = Annotated[Path, typer.Option(help="The lab's files (removed by `down`)")]
PortOption = Annotated[
    int, typer.Option(parser=whole_number(1, 65535), help="ZT-IX's HTTP port on 127.0.0.1")
]


def _plan(root: Path, port: int) -> Plan:
    from ztix.lab import plan

    return plan.full(root.absolute(), http_port=port)


def _echo(line: str) -> None:
    typer.echo(line, err=True)


@app.command("up")
def lab_up(root: RootOption = Path("var/lab"), port: PortOption = 8000) -> None:
    """Build the lab (two route servers, three members filed and approved through the API),
    wait for every session to be Established, print a summary. Safe to run twice."""
    from ztix.lab import runner
    from ztix.lab.netns import LabError

    plan = _plan(root, port)
    try:
        runner.up(plan, _echo)
    except LabError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    runner.report(plan, typer.echo)


@app.command("status")
def lab_status(root: RootOption = Path("var/lab"), port: PortOption = 8000) -> None:
    """Sessions and routes per member, read from the route servers with birdc."""
    from ztix.lab import runner

    runner.report(_plan(root, port), typer.echo)


@app.command("down")
def lab_down(root: RootOption = Path("var/lab"), port: PortOption = 8000) -> None:
    """Stop everything the lab started; delete its namespaces and its files."""
    from ztix.lab import runner

    runner.down(_plan(root, port), _echo)
