"""The self-hosted controller's lifecycle against the emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.support.app import ROOT
from tests.support.lifecycle import *  # noqa: F403 - the fixtures
from tests.support.lifecycle import (
    SettingsFactory,
    add_network_row,
    add_request,
    node,
    write_config,
)
from ztix.cli.main import app as cli_app
from ztix.config import Settings
from ztix.db.models import AuditEvent, IxNetwork
from ztix.db.session import Database
from ztix.domain.requests import RequestStatus
from ztix.workflow import controller as lifecycle
from ztix.workflow.audit import CLI
from ztix.workflow.controller import startup_check
from ztix.zerotier import layer2
from ztix.zerotier.archive import list_archives, read_archive
from ztix.zerotier.checks import PreflightReport
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.drift import Difference
from ztix.zerotier.emulator import ControllerEmulator
from ztix.zerotier.provider import MemberSpec, ProviderUnavailable


def events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def ids(settings: Settings, address: str) -> list[str]:
    out = [n.network_id(address) for n in settings.networks]
    assert None not in out
    return [n for n in out if n is not None]


def ready(
    settings: Settings, database: Database, controller: ControllerProvider
) -> PreflightReport:
    report = lifecycle.preflight(settings, database, controller, CLI)
    assert report.ok, report.checks
    return report


def authorize(controller: ControllerProvider, nwid: str, node_id: str, *ips: str) -> None:
    controller.ensure_member(MemberSpec(nwid, node_id, authorized=True, ip_assignments=ips))


# -- preflight --------------------------------------------------------------------------------


@pytest.mark.both_databases
def test_preflight_creates_the_networks_and_syncs_the_table(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
) -> None:
    settings = lc_settings()
    report = ready(settings, database, controller)

    nwids = ids(settings, emulator.address)
    assert report.controller_address == emulator.address
    assert [n.action for n in report.networks] == ["created", "created"]
    assert {c.name for c in report.checks} >= {"status", "controller", "networks table"}
    for conf, nwid in zip(settings.networks, nwids, strict=True):
        network = emulator.network(nwid)
        assert network is not None
        assert network["private"] is True
        assert network["mtu"] == 1500
        assert network["name"] == conf.name
        assert sorted(r["target"] for r in network["routes"]) == sorted(
            [str(conf.ipv4_prefix), str(conf.ipv6_prefix)]
        )
        assert network["v4AssignMode"] == {"zt": False}
        assert network["v6AssignMode"] == {"zt": False, "rfc4193": False, "6plane": False}
        assert [r.get("etherType") for r in network["rules"]] == [2048, 2054, 34525, None, None]
        assert [r["type"] for r in network["rules"][-2:]] == ["ACTION_DROP", "ACTION_ACCEPT"]
    with database.session() as db:
        rows = {n.zt_network_id: n for n in db.scalars(select(IxNetwork))}
    assert set(rows) == set(nwids)
    assert all(row.is_active for row in rows.values())
    assert {e.target_id for e in events(database, "controller.network_created")} == set(nwids)
    (event,) = events(database, "controller.preflight")
    assert event.details["ok"] is True and event.target_id == emulator.address


def test_preflight_corrects_drift_and_reports_each_change(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
) -> None:
    settings = lc_settings()
    ready(settings, database, controller)
    first, second = ids(settings, emulator.address)
    controller.set_network(
        first,
        {
            "mtu": 2800,
            "rules": [{"type": "ACTION_ACCEPT"}],
            "routes": [{"target": "192.0.2.0/24", "via": None}],
            "v6AssignMode": {"zt": False, "rfc4193": True, "6plane": False},
            "private": False,
        },
    )

    report = ready(settings, database, controller)

    by_id = {n.network_id: n for n in report.networks}
    assert by_id[second].action == "unchanged"
    fixed = by_id[first]
    assert fixed.action == "corrected"
    changes = {c.field: c for c in fixed.changes}
    assert set(changes) == {"private", "mtu", "routes", "v6AssignMode", "rules"}
    assert (changes["mtu"].old, changes["mtu"].new) == (2800, 1500)
    assert changes["private"].old is False
    network = emulator.network(first)
    assert network is not None
    assert layer2.drift(network, layer2.desired_network(settings.networks[0])) == []
    check = next(c for c in report.checks if c.name == f"network {first}")
    assert "mtu: 2800 -> 1500" in check.detail
    (event,) = events(database, "controller.network_corrected")
    assert event.target_id == first
    assert {c["field"] for c in event.details["changes"]} == set(changes)


def test_a_second_preflight_changes_nothing(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
) -> None:
    settings = lc_settings()
    assert ready(settings, database, controller).changed
    nwid = ids(settings, emulator.address)[0]
    revision = (emulator.network(nwid) or {})["revision"]

    again = ready(settings, database, controller)

    assert not again.changed
    assert again.table_changes == []
    assert {n.action for n in again.networks} == {"unchanged"}
    assert (emulator.network(nwid) or {})["revision"] == revision


@pytest.mark.both_databases
def test_preflight_deactivates_undeclared_networks_without_deleting(
    lc_settings: SettingsFactory, database: Database, controller: ControllerProvider
) -> None:
    ready(lc_settings(), database, controller)
    report = ready(lc_settings(networks=lc_settings().networks[:1]), database, controller)
    assert any("deactivated" in line for line in report.table_changes)
    with database.session() as db:
        states = sorted(n.is_active for n in db.scalars(select(IxNetwork)))
    assert states == [False, True]


def test_a_network_of_another_controller_fails_its_check(
    lc_settings: SettingsFactory, database: Database, controller: ControllerProvider
) -> None:
    foreign = "abcdef0123000003"
    declared = [
        *lc_settings().networks,
        {
            "zt_network_id": foreign,
            "name": "Elsewhere",
            "ipv4_prefix": "203.0.113.0/24",
            "ipv6_prefix": "2001:db8:ef::/64",
        },
    ]
    report = lifecycle.preflight(lc_settings(networks=declared), database, controller, CLI)

    assert not report.ok
    failed = report.failed_check
    assert failed is not None and failed.name == f"network {foreign}"
    assert "belongs to another controller (abcdef0123)" in failed.detail
    assert [n.action for n in report.networks] == ["created", "created", "failed"]
    with pytest.raises(Exception, match="does not exist"):
        controller.get_network(foreign)


def test_database_not_ready_fails_the_controller_check(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
) -> None:
    emulator.set_database_ready(False)
    report = lifecycle.preflight(lc_settings(), database, controller, CLI)
    failed = report.failed_check
    assert failed is not None and failed.name == "controller"
    assert "databaseReady" in failed.detail
    assert report.networks == []
    with database.session() as db:
        assert list(db.scalars(select(IxNetwork))) == []
    (event,) = events(database, "controller.preflight")
    assert event.details["ok"] is False


def test_check_ready_is_read_only_and_fails_on_drift(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
) -> None:
    settings = lc_settings()
    before = lifecycle.check_ready(settings, controller)
    assert [c.name for c in before if not c.ok] == [
        f"network {n}" for n in ids(settings, emulator.address)
    ]
    assert emulator.store.networks == {}
    ready(settings, database, controller)
    assert all(c.status == "pass" for c in lifecycle.check_ready(settings, controller))
    controller.set_network(ids(settings, emulator.address)[0], {"mtu": 2800})
    # Issue 13: layer-2 drift makes the controller not ready (it was a warning before).
    failed = [c for c in lifecycle.check_ready(settings, controller) if not c.ok]
    assert len(failed) == 1 and "differ from desired in mtu" in failed[0].detail


# -- start-up gate ----------------------------------------------------------------------------


def test_gate_ready(lc_settings: SettingsFactory, database: Database) -> None:
    result = startup_check(
        lc_settings(zerotier={**_zt(lc_settings), "startup_gate": "strict"}), database
    )
    assert result.ready and not result.must_stop
    assert result.report is not None and result.report.ok


def _zt(factory: SettingsFactory) -> dict[str, Any]:
    return factory().zerotier.model_dump(mode="json")


def test_gate_strict_names_the_failed_check(
    lc_settings: SettingsFactory, database: Database, emulator: ControllerEmulator
) -> None:
    emulator.set_database_ready(False)
    settings = lc_settings(zerotier={**_zt(lc_settings), "startup_gate": "strict"})
    result = startup_check(settings, database)
    assert not result.ready and result.must_stop
    assert result.failed_check == "controller"
    assert "databaseReady" in result.reason


def test_gate_non_strict_starts_when_the_controller_is_down(
    lc_settings: SettingsFactory, database: Database, emulator: ControllerEmulator
) -> None:
    settings = lc_settings(zerotier={**_zt(lc_settings), "startup_gate": "non_strict"})
    emulator.stop()
    result = startup_check(settings, database)
    assert not result.ready and not result.must_stop
    assert result.failed_check == "status"


def test_gate_without_a_token_file_is_not_ready(
    lc_settings: SettingsFactory, database: Database, tmp_path: Path
) -> None:
    zt = _zt(lc_settings)
    zt["controller"]["token_file"] = str(tmp_path / "missing.secret")
    zt["startup_gate"] = "strict"
    result = startup_check(lc_settings(zerotier=zt), database)
    assert result.must_stop and "token file" in result.reason


# -- token -------------------------------------------------------------------------------------


def test_reload_token_after_rotation(
    database: Database, controller: ControllerProvider, emulator: ControllerEmulator
) -> None:
    new_token = "rotated0token0value0123456"
    emulator.set_token(new_token)  # rewrites authtoken.secret, as a controller restart would
    # A 401 makes the adapter re-read the file by itself (issue 13); the command still
    # checks and audits the reload.
    assert controller.status().address == emulator.address

    report = lifecycle.reload_token(
        controller, CLI, database, token_file=emulator.home / "authtoken.secret"
    )

    assert report.ok
    assert controller.status().address == emulator.address
    (event,) = events(database, "controller.token_reloaded")
    assert new_token not in json.dumps(event.details)


def test_a_bad_new_token_is_refused_and_the_old_one_kept(
    database: Database, controller: ControllerProvider, emulator: ControllerEmulator
) -> None:
    (emulator.home / "authtoken.secret").write_text("not-the-token\n")
    report = lifecycle.reload_token(controller, CLI, database)
    assert not report.ok and "previous token stays in use" in report.detail
    assert controller.status().address == emulator.address
    (event,) = events(database, "controller.token_reload_failed")
    assert "not-the-token" not in json.dumps(event.details)


# -- backup ------------------------------------------------------------------------------------


def populated(
    settings: Settings,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
) -> list[str]:
    """Preflight, then two active members provisioned on the first network."""
    ready(settings, database, controller)
    nwid = ids(settings, emulator.address)[0]
    for n, v4, v6 in [(1, "192.0.2.10", "2001:db8:ab::6:4500:1"), (2, "192.0.2.11", None)]:
        addrs = (v4,) if v6 is None else (v4, v6)
        add_request(database, nwid, node(n), asn=64500 + n, addresses=addrs)
        authorize(controller, nwid, node(n), *addrs)
    return ids(settings, emulator.address)


def tar_names(path: Path) -> set[str]:
    with tarfile.open(path) as tar:
        return set(tar.getnames())


def test_backup_archive_contents_and_mode(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
    tmp_path: Path,
) -> None:
    settings = lc_settings()
    nwid = populated(settings, database, controller, emulator)[0]
    dest = tmp_path / "backups"

    report = lifecycle.backup(settings, controller, dest, 3, CLI, database)

    assert report.ok and report.files_included
    assert stat.S_IMODE(report.path.stat().st_mode) == 0o600
    assert report.path.name.startswith("ztix-controller-") and report.path.suffixes[-2:] == [
        ".tar",
        ".gz",
    ]
    assert (report.networks, report.members) == (2, 2)
    names = tar_names(report.path)
    assert {
        "logical.json",
        "files/identity.public",
        "files/identity.secret",
        f"files/controller.d/network/{nwid}.json",
        f"files/controller.d/network/{nwid}/member/{node(1)}.json",
    } <= names
    assert "files/authtoken.secret" not in names  # a credential, deliberately left out
    archive = read_archive(report.path)
    assert archive.address == emulator.address
    assert archive.logical["controller"]["version"] == "1.14.2"
    entry = next(n for n in archive.networks() if n["id"] == nwid)
    assert entry["network"]["mtu"] == 1500
    assert {m["id"]: m["authorized"] for m in entry["members"]} == {node(1): True, node(2): True}
    (event,) = events(database, "controller.backup")
    assert event.details["members"] == 2


def test_backup_retention_keeps_the_newest(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    tmp_path: Path,
) -> None:
    settings = lc_settings(
        zerotier={"controller": {**_zt(lc_settings)["controller"], "home_dir": None}}
    )
    dest = tmp_path / "backups"
    dest.mkdir()
    (dest / "notes.txt").write_text("not an archive")
    made = [lifecycle.backup(settings, controller, dest, 2, CLI, database) for _ in range(4)]

    assert not made[0].files_included and made[0].ok
    assert list_archives(dest) == [made[2].path, made[3].path]
    assert made[3].deleted == [made[1].path]
    assert (dest / "notes.txt").exists()


def test_backup_with_an_unreadable_home_warns_and_keeps_old_archives(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    tmp_path: Path,
) -> None:
    zt = _zt(lc_settings)
    good = lifecycle.backup(lc_settings(), controller, tmp_path / "b", 1, CLI, database)
    zt["controller"]["home_dir"] = str(tmp_path / "nowhere")
    bad = lifecycle.backup(lc_settings(zerotier=zt), controller, tmp_path / "b", 1, CLI, database)
    assert not bad.ok and "no file snapshot" in bad.warnings[0]
    assert not bad.files_included
    assert list_archives(tmp_path / "b") == [good.path, bad.path]


def test_a_failed_backup_is_audited(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
    tmp_path: Path,
) -> None:
    settings = lc_settings()
    emulator.stop()
    with pytest.raises(ProviderUnavailable):
        lifecycle.backup(settings, controller, tmp_path / "b", 1, CLI, database)
    assert list_archives(tmp_path / "b") == []
    (event,) = events(database, "controller.backup_failed")
    assert event.details["code"] == "controller_unavailable"


# -- restore -----------------------------------------------------------------------------------


def test_file_restore_refuses_while_the_controller_runs_and_works_when_stopped(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
    tmp_path: Path,
) -> None:
    settings = lc_settings()
    nwids = populated(settings, database, controller, emulator)
    archive = lifecycle.backup(settings, controller, tmp_path / "b", 5, CLI, database).path
    # The machine is lost: a new controller home, with a new identity.
    new_home = tmp_path / "new-home"
    replacement = ControllerEmulator(new_home).start()
    zt = _zt(lc_settings)
    zt["controller"].update(url=replacement.url, home_dir=str(new_home))
    restore_settings = lc_settings(zerotier=zt)

    refused = lifecycle.restore(restore_settings, None, archive, "files", CLI, database)
    assert refused.refused is not None and "is answering" in refused.refused
    assert replacement.address != emulator.address

    replacement.stop()
    report = lifecycle.restore(restore_settings, None, archive, "files", CLI, database)
    assert report.ok, report
    assert report.networks == 2 and report.members == 2
    assert stat.S_IMODE((new_home / "identity.secret").stat().st_mode) == 0o600
    assert any("identity.secret" in note for note in report.notes)  # the old one kept aside

    with ControllerEmulator(new_home) as restarted:
        assert restarted.address == emulator.address
        assert sorted(restarted.store.networks) == nwids
        member = restarted.member(nwids[0], node(1))
        assert member is not None and member["authorized"] is True
    outcomes = [e.details["ok"] for e in events(database, "controller.restore")]
    assert outcomes == [False, True]


def test_logical_restore_into_a_fresh_controller_with_the_same_identity(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
    tmp_path: Path,
) -> None:
    settings = lc_settings()
    nwids = populated(settings, database, controller, emulator)
    archive = lifecycle.backup(settings, controller, tmp_path / "b", 5, CLI, database).path

    fresh_home = tmp_path / "fresh"
    fresh_home.mkdir()
    for name in ("identity.secret", "identity.public"):
        shutil.copy2(emulator.home / name, fresh_home / name)
    with ControllerEmulator(fresh_home) as fresh:
        conf = ControllerSettings(url=fresh.url, token=fresh.token)
        with ControllerProvider(conf) as client:
            report = lifecycle.restore(settings, client, archive, "logical", CLI, database)
            assert report.ok, report.mismatches
            assert (report.networks, report.members) == (2, 2)
            assert client.list_networks() == nwids
            member = client.get_member(nwids[0], node(1))
            assert member is not None and member.authorized
            assert sorted(member.ip_assignments) == ["192.0.2.10", "2001:db8:ab::6:4500:1"]
            network = client.get_network(nwids[0])
            assert layer2.drift(network, layer2.desired_network(settings.networks[0])) == []


def test_logical_restore_refuses_networks_of_another_controller(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
    tmp_path: Path,
) -> None:
    settings = lc_settings()
    populated(settings, database, controller, emulator)
    archive = lifecycle.backup(settings, controller, tmp_path / "b", 5, CLI, database).path
    with (
        ControllerEmulator(tmp_path / "other") as other,
        ControllerProvider(ControllerSettings(url=other.url, token=other.token)) as client,
    ):
        report = lifecycle.restore(settings, client, archive, "logical", CLI, database)
        assert report.refused is not None
        assert f"made by controller {emulator.address}" in report.refused
        assert "--mode files" in report.refused
        assert client.list_networks() == []


def test_restore_of_a_file_that_is_not_an_archive_is_refused(
    lc_settings: SettingsFactory, database: Database, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"nope")
    report = lifecycle.restore(lc_settings(), None, junk, "files", CLI, database)
    assert report.refused is not None and "cannot read the archive" in report.refused


# -- restore-validate and drift ------------------------------------------------------------------


def test_restore_validate_ok(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
    tmp_path: Path,
) -> None:
    settings = lc_settings()
    populated(settings, database, controller, emulator)
    archive = lifecycle.backup(settings, controller, tmp_path / "b", 5, CLI, database).path

    report = lifecycle.restore_validate(archive, database)

    assert report.ok, report
    assert [p.source for p in report.parts] == ["logical", "files"]
    assert all(p.members == 2 and p.networks == 2 for p in report.parts)
    assert [p.address for p in report.parts] == [emulator.address] * 2
    (event,) = events(database, "controller.restore_validated")
    assert event.details["ok"] is True


def mismatched(
    settings: Settings,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
) -> dict[str, tuple[str, str | None]]:
    """Every kind of difference between the controller and the database, once each."""
    first, second = populated(settings, database, controller, emulator)
    # Active in ZT-IX but never put on the controller.
    add_request(database, second, node(3), addresses=("198.51.100.10",))
    # Deauthorized behind ZT-IX's back.
    controller.deauthorize_member(first, node(2))
    # Other addresses than the ones ZT-IX assigned.
    add_request(database, second, node(4), addresses=("198.51.100.11",))
    authorize(controller, second, node(4), "198.51.100.99")
    # Authorized by hand: nobody asked ZT-IX for it.
    authorize(controller, first, node(5), "192.0.2.50")
    # Authorized, request removed (it left): still drift.
    add_request(database, first, node(6), status=RequestStatus.REMOVED)
    authorize(controller, first, node(6))
    # In flight: a job is working on it, not drift.
    add_request(database, first, node(7), status=RequestStatus.PROVISIONING)
    authorize(controller, first, node(7), "192.0.2.70")
    # A route server, authorized outside ZT-IX on purpose.
    authorize(controller, first, node(8), "192.0.2.253")
    # An active IX network the controller does not have.
    add_network_row(database, f"{emulator.address}0000ff")
    return {
        "missing_member": (second, node(3)),
        "unauthorized_member": (first, node(2)),
        "wrong_addresses": (second, node(4)),
        "unknown_member": (first, node(5)),
        "missing_network": (f"{emulator.address}0000ff", None),
    }


def kinds(differences: list[Difference]) -> dict[str, list[tuple[str, str | None]]]:
    out: dict[str, list[tuple[str, str | None]]] = {}
    for diff in differences:
        out.setdefault(diff.kind, []).append((diff.network_id, diff.node_id))
    return out


def test_restore_validate_reports_every_difference(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
    tmp_path: Path,
) -> None:
    settings = lc_settings()
    expected = mismatched(settings, database, controller, emulator)
    archive = lifecycle.backup(settings, controller, tmp_path / "b", 5, CLI, database).path

    report = lifecycle.restore_validate(archive, database, known_extra_nodes={node(8)})

    assert not report.ok
    assert len(report.parts) == 2
    for part in report.parts:
        found = kinds(part.differences)
        assert found["unknown_member"] == [
            (expected["unknown_member"][0], node(5)),
            (expected["unknown_member"][0], node(6)),
        ]
        for kind in ("missing_member", "unauthorized_member", "wrong_addresses", "missing_network"):
            assert found[kind] == [expected[kind]], kind
    detail = next(d for d in report.parts[0].differences if d.kind == "wrong_addresses").detail
    assert "198.51.100.99" in detail and "198.51.100.11" in detail
    removed = next(d for d in report.parts[0].differences if d.node_id == node(6))
    assert "its request is removed" in removed.detail


def test_drift_both_directions(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
) -> None:
    settings = lc_settings()
    expected = mismatched(settings, database, controller, emulator)

    report = lifecycle.drift(settings, database, controller, {node(8)})

    found = kinds(report.differences)
    for kind in ("missing_member", "unauthorized_member", "wrong_addresses", "missing_network"):
        assert found[kind] == [expected[kind]], kind
    assert [n for _, n in found["unknown_member"]] == [node(5), node(6)]
    # Without the route-server list, the route server is unknown too.
    unlisted = lifecycle.drift(settings, database, controller)
    assert node(8) in [d.node_id for d in unlisted.differences if d.kind == "unknown_member"]
    assert len(events(database, "controller.drift")) == 2


def test_no_drift_when_in_sync(
    lc_settings: SettingsFactory,
    database: Database,
    controller: ControllerProvider,
    emulator: ControllerEmulator,
) -> None:
    settings = lc_settings()
    populated(settings, database, controller, emulator)
    report = lifecycle.drift(settings, database, controller)
    assert report.ok and report.members_checked == 2 and report.networks_checked == 2


# -- the command line --------------------------------------------------------------------------


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("ZTIX_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "ztix.cli", "controller", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.parent,
        timeout=60,
        check=False,
    )


def test_cli_subprocess_exit_codes(
    sqlite_database: Database,
    emulator: ControllerEmulator,
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "ztix.yaml", sqlite_database.url, emulator)

    done = run_cli(config, "preflight")
    assert done.returncode == 0, done.stderr
    assert "preflight passed" in done.stdout and "PASS" in done.stdout

    done = run_cli(config, "backup", "--dest", str(tmp_path / "b"), "--keep", "2")
    assert done.returncode == 0, done.stderr
    (archive,) = list_archives(tmp_path / "b")

    # An active member the archive lacks: the archive does not match the database.
    add_request(sqlite_database, f"{emulator.address}000001", node(1), addresses=("192.0.2.10",))
    done = run_cli(config, "restore-validate", str(archive))
    assert done.returncode == 1
    assert f"missing_member: {emulator.address}000001 member {node(1)}" in done.stdout

    emulator.set_database_ready(False)
    done = run_cli(config, "preflight")
    assert done.returncode == 1
    assert "preflight failed: controller" in done.stderr


def test_cli_in_process_commands(
    sqlite_database: Database,
    emulator: ControllerEmulator,
    controller: ControllerProvider,
    tmp_path: Path,
) -> None:
    config = str(write_config(tmp_path / "ztix.yaml", sqlite_database.url, emulator))
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli_app, ["controller", *args, "--config", config])

    assert run("preflight").exit_code == 0
    second = run("preflight")
    assert second.exit_code == 0 and "nothing to change" in second.output
    result = run("backup", "--dest", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    (archive,) = list_archives(tmp_path / "b")
    assert run("restore-validate", str(archive)).exit_code == 0
    assert run("drift").exit_code == 0
    assert run("reload-token").exit_code == 0
    refused = run("restore", str(archive), "--mode", "files")
    assert refused.exit_code == 1 and "is answering" in refused.output
    assert run("restore", str(archive)).exit_code == 0  # logical, onto itself

    nwid = f"{emulator.address}000001"
    authorize(controller, nwid, node(9), "192.0.2.99")
    result = run("drift")
    assert result.exit_code == 1 and f"unknown_member: {nwid} member {node(9)}" in result.output
    assert run("drift", "--ignore-node", node(9)).exit_code == 0
