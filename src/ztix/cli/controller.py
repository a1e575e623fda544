"""``ztix controller …``: the self-hosted controller's lifecycle (DESIGN §1, issue 3).

Exit codes: 0 success; 1 a check failed, a difference was found, or the operation was
refused or failed; 2 the configuration is unusable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer

from ztix.cli.common import ConfigOption, fail, open_database, settings_or_exit, whole_number
from ztix.config import Settings
from ztix.domain.controller import Check, Difference, first_failure
from ztix.workflow import controller as lifecycle
from ztix.workflow.audit import CLI
from ztix.zerotier.controller import ControllerProvider
from ztix.zerotier.lifecycle import ARCHIVES
from ztix.zerotier.provider import ProviderError

app = typer.Typer(
    help="The self-hosted ZeroTier controller: readiness check, preflight, token reload, "
    "backup, restore, drift. Every step but the check is audited.",
    no_args_is_help=True,
)

IgnoreNodes = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore-node",
        help="A node ID authorized on purpose outside ZT-IX (a route server); repeatable",
    ),
]
DEFAULT_BACKUP_DIR = Path("var/backups")
DEFAULT_KEEP = 14


@contextmanager
def _controller(settings: Settings) -> Iterator[ControllerProvider]:
    if settings.zerotier.provider != "controller":
        raise fail("zerotier.provider is central: there is no self-hosted controller")
    from ztix.jobs.context import build_controller

    try:
        controller = build_controller(settings)
    except (ProviderError, ValueError) as exc:
        raise fail(exc.message if isinstance(exc, ProviderError) else str(exc)) from exc
    with controller:
        yield controller


def _print_checks(checks: list[Check]) -> None:
    width = max((len(c.name) for c in checks), default=0)
    for check in checks:
        typer.echo(f"  {check.status.upper():<4}  {check.name:<{width}}  {check.detail}")


def _print_differences(differences: list[Difference]) -> None:
    for diff in differences:
        typer.echo(f"  {diff.describe()}")


def _nodes(values: list[str] | None) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in values or [])


@app.command()
def check(config: ConfigOption = None) -> None:
    """Read-only readiness, as /readyz sees it: status, controller database, and each IX
    network present with the IX layer-2 settings. Changes nothing; exit 1 on a failure."""
    settings = settings_or_exit(config)
    with _controller(settings) as controller:
        checks = lifecycle.check_ready(settings, controller)
    _print_checks(checks)
    if first_failure(checks) is not None:
        raise typer.Exit(1)


@app.command()
def preflight(config: ConfigOption = None) -> None:
    """Check the controller; create or correct the IX networks; sync the networks table."""
    settings = settings_or_exit(config)
    with open_database(settings) as database, _controller(settings) as controller:
        report = lifecycle.preflight(settings, database, controller, CLI)
    if report.controller_address:
        typer.echo(f"controller {report.controller_address} ({report.controller_version})")
    _print_checks(report.checks)
    failed = report.failed_check
    if failed is not None:
        raise fail(f"preflight failed: {failed.name}: {failed.detail}")
    typer.echo("preflight passed" + ("" if report.changed else "; nothing to change"))


@app.command("reload-token")
def reload_token(config: ConfigOption = None) -> None:
    """Re-read the token file, check the new token with the controller, and swap it in.

    Running `serve`/`worker` processes keep their own client: this checks the new file and
    records the rotation.
    """
    settings = settings_or_exit(config)
    token_file = settings.zerotier.controller.token_file
    if token_file is None:
        raise fail("zerotier.controller.token_file is not set: nothing to reload")
    with open_database(settings) as database, _controller(settings) as controller:
        report = lifecycle.reload_token(controller, CLI, database, token_file=token_file)
    if not report.ok:
        raise fail(report.detail)
    typer.echo(f"token from {report.token_file}: {report.detail}")


@app.command()
def backup(
    config: ConfigOption = None,
    dest: Annotated[
        Path, typer.Option("--dest", help="Directory for the archives")
    ] = DEFAULT_BACKUP_DIR,
    keep: Annotated[
        int, typer.Option("--keep", parser=whole_number(1), help="Keep the newest N archives")
    ] = DEFAULT_KEEP,
) -> None:
    """Write a backup archive (logical export + file snapshot when home_dir is readable)."""
    settings = settings_or_exit(config)
    with open_database(settings) as database, _controller(settings) as controller:
        try:
            report = lifecycle.backup(settings, controller, dest, keep, CLI, database)
        except ProviderError as exc:
            raise fail(f"backup failed: {exc.message}") from exc
    files = f"{report.file_count} files" if report.files_included else "no file snapshot"
    typer.echo(
        f"wrote {report.path} ({report.size_bytes} bytes): controller "
        f"{report.controller_address}, {report.networks} networks, {report.members} members, "
        f"{files}"
    )
    for path in report.deleted:
        typer.echo(f"deleted old archive {path}")
    typer.echo(f"{len(report.kept)} archives kept in {dest}")
    if not report.ok:
        raise fail("; ".join(report.warnings) + " (old archives were kept)")


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="A backup archive")],
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="logical: through the API of the running controller; "
            "files: into home_dir, with the controller stopped",
        ),
    ] = "logical",
    config: ConfigOption = None,
) -> None:
    """Restore a backup archive."""
    if mode not in ("logical", "files"):
        raise fail("--mode must be logical or files")
    restore_mode: Literal["logical", "files"] = "files" if mode == "files" else "logical"
    settings = settings_or_exit(config)
    with open_database(settings) as database:
        if restore_mode == "files":
            report = lifecycle.restore(settings, None, archive, "files", CLI, database, ARCHIVES)
        else:
            with _controller(settings) as controller:
                report = lifecycle.restore(
                    settings, controller, archive, "logical", CLI, database, ARCHIVES
                )
    if report.refused:
        raise fail(f"restore refused: {report.refused}")
    typer.echo(
        f"restored ({report.mode}) {report.networks} networks, {report.members} members"
        + (f", {report.files} files" if report.mode == "files" else "")
    )
    for note in report.notes:
        typer.echo(f"  note: {note}")
    if report.mismatches:
        for line in report.mismatches:
            typer.echo(f"  mismatch: {line}")
        raise fail(f"restore incomplete: {len(report.mismatches)} problems (see above)")


@app.command("restore-validate")
def restore_validate(
    archive: Annotated[Path, typer.Argument(help="A backup archive")],
    ignore_node: IgnoreNodes = None,
    config: ConfigOption = None,
) -> None:
    """Restore into a scratch emulator and compare with the database's active members."""
    settings = settings_or_exit(config)
    with open_database(settings) as database:
        report = lifecycle.restore_validate(
            archive,
            database,
            known_extra_nodes=_nodes(ignore_node),
            actor=CLI,
            archives=ARCHIVES,
        )
    if report.error:
        raise fail(f"cannot validate {archive}: {report.error}")
    for part in report.parts:
        state = "ok" if part.ok else "DIFFERS"
        what = "logical export" if part.source == "logical" else "file snapshot"
        typer.echo(
            f"{what} of controller {part.address}: {part.networks} networks, "
            f"{part.members} members of ZT-IX networks: {state}"
        )
        for problem in part.problems:
            typer.echo(f"  problem: {problem}")
        _print_differences(part.differences)
    if not report.ok:
        raise fail("the archive does not match the database")
    typer.echo("the archive matches the database's active memberships")


@app.command()
def drift(ignore_node: IgnoreNodes = None, config: ConfigOption = None) -> None:
    """Compare the IX networks' layer-2 settings with the desired ones, and the controller's
    members with ZT-IX's active memberships (read-only)."""
    settings = settings_or_exit(config)
    with open_database(settings) as database, _controller(settings) as controller:
        try:
            report = lifecycle.drift(settings, database, controller, _nodes(ignore_node), CLI)
        except ProviderError as exc:
            raise fail(f"drift check failed: {exc.message}") from exc
    typer.echo(
        f"checked {report.networks_checked} networks, {report.members_checked} members: "
        f"{len(report.differences)} differences"
    )
    _print_differences(report.differences)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def emulator(
    home: Annotated[
        Path | None, typer.Option("--home", help="State directory (default: emulator_home)")
    ] = None,
    port: Annotated[int, typer.Option("--port", parser=whole_number(0, 65535))] = 9993,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    config: ConfigOption = None,
) -> None:
    """Run the bundled controller emulator in the foreground (demos, local development)."""
    from ztix.zerotier.emulator import ControllerEmulator

    state = home or settings_or_exit(config).zerotier.controller.emulator_home
    ControllerEmulator(state, host, port).run_forever()
