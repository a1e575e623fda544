"""``ztix irr …``: refresh and inspect members' IRR (AS-SET) data, set an admin override."""

from __future__ import annotations

from typing import Annotated

import typer

from ztix.cli.common import ConfigOption, fail, open_database, refused, settings_or_exit
from ztix.db.models import IrrData
from ztix.domain.identifiers import ASN_MAX, ASN_MIN
from ztix.errors import AppError
from ztix.workflow import audit
from ztix.workflow import irr as irr_data
from ztix.workflow.routeserver_desired import irr_rows

app = typer.Typer(help="IRR filtering data: AS-SET expansions with bgpq4.", no_args_is_help=True)
AsnArg = Annotated[
    int | None, typer.Argument(min=ASN_MIN, max=ASN_MAX, help="One member ASN (default: all)")
]


@app.command("refresh")
def refresh_command(
    asn: AsnArg = None,
    sync: Annotated[
        bool, typer.Option(help="Apply the route servers now when some data changed")
    ] = True,
    force: Annotated[
        bool, typer.Option(help="Expand even members whose IRR serials did not change")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Expand the members' AS-SETs now; keep the last good data of those that fail."""
    settings = settings_or_exit(config)
    if not settings.irr.enabled:
        raise fail("IRR filtering is off (irr.enabled in the runtime config)")
    with open_database(settings) as db:
        report = irr_data.refresh(
            db, settings, asns=[asn] if asn is not None else None, force=force
        )
        typer.echo(
            f"{report.checked} members checked, {len(report.changed)} changed, "
            f"{len(report.failed)} failed, {report.skipped} unchanged at the IRR"
        )
        for failed_asn, code in sorted(report.failed.items()):
            typer.echo(f"  AS{failed_asn}: {code} (last good data kept)")
        if report.changed and sync:
            from ztix.cli.routeservers import sync_command

            sync_command(None, config)
    if report.failed:
        raise typer.Exit(1)


@app.command("show")
def show_command(asn: AsnArg = None, config: ConfigOption = None) -> None:
    """The IRR data per member: AS-SET in use and its origin, prefix counts, age, errors."""
    settings = settings_or_exit(config)
    with open_database(settings) as db_, db_.read_session() as db:
        asns = [asn] if asn is not None else irr_data.member_asns(db)
        rows = irr_rows(db, asns)
        for a in asns:
            typer.echo(irr_data.describe(a, rows.get(a)))


@app.command("override")
def override_command(
    asn: Annotated[int, typer.Argument(min=ASN_MIN, max=ASN_MAX)],
    as_set: Annotated[str, typer.Argument(help='e.g. "RIPE::AS-FOO"; "" clears')],
    config: ConfigOption = None,
) -> None:
    """Expand AS_SET for this member instead of PeeringDB's irr_as_set."""
    settings = settings_or_exit(config)
    with open_database(settings) as db_:
        try:
            with db_.session() as db:
                row: IrrData = irr_data.set_override(db, asn, as_set, audit.CLI)
                value = row.as_set_override
        except AppError as exc:
            raise refused(exc) from exc
    typer.echo(f"AS{asn}: override {value or 'cleared'}; run `ztix irr refresh {asn}`")
