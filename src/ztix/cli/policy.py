"""``ztix policy check``: what the eligibility policy would decide, and why.

Exit codes: 0 allow (approved at once under policy_auto); 1 deny (or the check could not be
made: unknown network, invalid ASN); 2 the configuration is unusable; 3 needs an admin.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ztix.cli.common import (
    ConfigOption,
    fail,
    open_database,
    refused,
    settings_or_exit,
    whole_number,
)
from ztix.config import Settings
from ztix.db.models import IxNetwork
from ztix.domain.identifiers import InvalidIdentifier, validate_asn
from ztix.domain.policy import Decision, Holding, Verdict
from ztix.workflow import networks, policy, users

app = typer.Typer(help="The eligibility and auto-approval policy.", no_args_is_help=True)

EXIT_CODES = {
    Decision.ALLOW: 0,
    Decision.DENY_ASN: 1,
    Decision.DENY_NETWORK: 1,
    Decision.NEEDS_ADMIN: 3,
}


def _network(all_networks: list[IxNetwork], ref: str) -> IxNetwork:
    """A network by its full ID or its 6-hex suffix."""
    ref = ref.strip().lower()
    found = [n for n in all_networks if n.zt_network_id == ref or n.zt_network_id[10:] == ref]
    if len(found) != 1:
        raise fail(f"no IX network {ref} in the database (run `ztix networks sync`)")
    return found[0]


def _print(verdict: Verdict, asn: int, network: IxNetwork, assumed: str | None) -> None:
    typer.echo(
        f"AS{asn} on {network.name} ({network.zt_network_id}): {verdict.decision.value}"
        + ("" if network.is_active else "  (the network is inactive: requests are refused)")
    )
    if assumed:
        typer.echo(f"  requester: {assumed}")
    typer.echo(f"  approval mode: {'policy_auto' if verdict.auto_approval else 'manual_admin'}")
    for check in verdict.checks:
        typer.echo(f"  {check.status.value:<8} {check.name:<25} {check.detail}  [{check.rule}]")
    if verdict.refusal:
        typer.echo(f"refused: {verdict.refusal}")
    for reason in verdict.reasons:
        typer.echo(f"needs an admin: {reason.value}")


@app.command("check")
def check(
    asn: Annotated[str, typer.Option("--asn", help="The ASN that would apply")],
    network: Annotated[str, typer.Option("--network", help="IX network ID (or its suffix)")],
    user: Annotated[
        str | None,
        typer.Option("--user", help="Evaluate as this user (their hold on the ASN)"),
    ] = None,
    perms: Annotated[
        int | None,
        typer.Option(
            "--perms",
            parser=whole_number(0, 15),
            help="Assume a PeeringDB login with these perms on the ASN",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON")] = False,
    config: ConfigOption = None,
) -> None:
    """Show what the current policy would decide for ASN on NETWORK and why; creates
    nothing. Without --user or --perms the requester is assumed to hold the ASN through
    PeeringDB with policy.auto_approval.required_peeringdb_perms. Exit: 0 allow, 1 deny,
    3 needs an admin."""
    settings = settings_or_exit(config)
    if user is not None and perms is not None:
        raise fail("give --user or --perms, not both")
    try:
        asn_value = validate_asn(asn, allow_private=settings.workflow.allow_private_asns)
    except InvalidIdentifier as exc:
        raise refused(exc) from exc
    verdict, ix_network, assumed = _evaluate(settings, asn_value, network, user, perms)
    if as_json:
        typer.echo(json.dumps(policy.as_record(verdict), indent=2))
    else:
        _print(verdict, asn_value, ix_network, assumed)
    raise typer.Exit(EXIT_CODES[verdict.decision])


def _evaluate(
    settings: Settings, asn: int, network_ref: str, username: str | None, perms: int | None
) -> tuple[Verdict, IxNetwork, str | None]:
    with open_database(settings) as db_:
        with db_.session() as db:
            ix_network = _network(networks.all_networks(db), network_ref)
            if username is not None:
                account = users.get_user_by_username(db, username)
                if account is None:
                    raise fail(f"no user {username}")
                holder = policy.holding(account, asn)
                assumed = f"{username}: {_describe(holder)}"
            else:
                if perms is None:
                    perms = settings.policy.auto_approval.required_peeringdb_perms
                holder = Holding(peeringdb_perms=perms)
                assumed = f"assumed: {_describe(holder)} (--user or --perms to change)"
            wanted = policy.peeringdb_wanted(db, settings, asn)
        # PeeringDB is asked with no transaction open; what it answers is not stored.
        fetched = policy.fetch_peeringdb(settings, asn) if wanted else None
        with db_.session() as db:
            verdict = policy.evaluate(
                db, settings, asn=asn, network=ix_network, holder=holder, fetched=fetched
            )
            db.rollback()
    return verdict, ix_network, assumed


def _describe(holder: Holding) -> str:
    parts = []
    if holder.peeringdb_perms is not None:
        parts.append(f"PeeringDB perms {holder.peeringdb_perms}")
    if holder.local_grant:
        parts.append("local grant")
    return ", ".join(parts) or "does not hold the ASN"
