"""The IRR refresh against the real IRRd: what is stored per member, the fallback to the
member's ASN, the admin override, and that a failed, empty or oversized expansion keeps
the last good data and records the failure (on SQLite and PostgreSQL)."""

from __future__ import annotations

import ipaddress as ip
from typing import Any

import pytest

from tests.support import irr_data as d
from tests.support.app import NWID, make_settings
from tests.support.irrd import IrrdServer, rpsl_object
from tests.support.services import free_port
from ztix.config import Settings
from ztix.db.models import AuditEvent, IrrData, PeeringDBNetwork
from ztix.db.session import Database
from ztix.errors import AppError
from ztix.irr.metrics import IrrCollector
from ztix.irr.serials import source_serials
from ztix.routeserver.model import Peer
from ztix.workflow import audit
from ztix.workflow import irr as irr_data
from ztix.workflow.routeserver_desired import peer_with_irr


def settings_for(database: Database, server: str, **irr: Any) -> Settings:
    return make_settings(
        str(database.engine.url.render_as_string(hide_password=False)),
        irr={"enabled": True, "server": server, "sources": ["TEST"], **irr},
    )


def pdb(database: Database, asn: int, irr_as_set: str, prefixes4: int | None = None) -> None:
    with database.session() as db:
        db.merge(
            PeeringDBNetwork(
                asn=asn,
                found=True,
                name=f"AS{asn}",
                irr_as_set=irr_as_set,
                info_prefixes4=prefixes4,
            )
        )


def row(database: Database, asn: int) -> IrrData:
    with database.read_session() as db:
        found = db.get(IrrData, asn)
        assert found is not None
        db.expunge(found)
        return found


@pytest.fixture
def settings(database: Database, irrd: IrrdServer) -> Settings:
    return settings_for(database, irrd.host)


def test_refresh_stores_each_members_data(database: Database, settings: Settings) -> None:
    pdb(database, d.A, "TEST::AS-ZTIXA see website")
    pdb(database, d.C, "none")
    report = irr_data.refresh(database, settings, asns=[d.A, d.C])
    assert (report.checked, sorted(report.changed), report.failed) == (2, [d.A, d.C], {})

    a = row(database, d.A)
    assert (a.as_set, a.as_set_choice) == ("TEST::AS-ZTIXA", "peeringdb")
    assert a.prefixes_ipv4 == sorted(d.A_V4 + d.A_CUSTOMER_V4, key=ip.ip_network)
    assert a.prefixes_ipv6 == d.A_V6
    assert a.origins == [d.A, d.A_CUSTOMER]
    assert a.fetched_at is not None and a.last_error is None

    c = row(database, d.C)  # nothing valid on PeeringDB: its own ASN
    assert (c.as_set, c.as_set_choice, c.prefixes_ipv4) == (f"AS{d.C}", "asn", d.C_V4)


def test_nothing_changed_means_nothing_to_apply(database: Database, settings: Settings) -> None:
    pdb(database, d.A, "AS-ZTIXA")
    assert irr_data.refresh(database, settings, asns=[d.A]).changed == [d.A]
    first = row(database, d.A)
    again = irr_data.refresh(database, settings, asns=[d.A])
    # Same AS-SET, same IRR serial: not even asked again; the data is confirmed current.
    assert (again.checked, again.changed, again.failed, again.skipped) == (1, [], {}, 1)
    after = row(database, d.A)
    assert after.changed_at == first.changed_at
    assert after.fetched_at is not None and first.fetched_at is not None
    assert after.fetched_at > first.fetched_at
    forced = irr_data.refresh(database, settings, asns=[d.A], force=True)
    assert (forced.changed, forced.skipped) == ([], 0)


def test_the_irr_serial_is_read(irrd: IrrdServer) -> None:
    assert source_serials(irrd.host, ["TEST"], 10) == f"TEST:{irrd.serial}"
    assert source_serials(irrd.host, ["TEST", "NOSUCH"], 10) is None  # unknown: no skipping
    assert source_serials(f"127.0.0.1:{free_port()}", ["TEST"], 2) is None


def test_a_changed_as_set_is_expanded_despite_the_same_serial(
    database: Database, settings: Settings
) -> None:
    pdb(database, d.A, "AS-ZTIXA")
    irr_data.refresh(database, settings, asns=[d.A])
    pdb(database, d.A, f"AS{d.A}:AS-CUSTOMERS")
    report = irr_data.refresh(database, settings, asns=[d.A])
    assert (report.changed, report.skipped) == ([d.A], 0)


def test_the_override_wins_and_is_audited(database: Database, settings: Settings) -> None:
    pdb(database, d.A, "AS-ZTIXA")
    with database.session() as db:
        irr_data.set_override(db, d.A, f"as{d.A}:as-customers", audit.CLI)
    irr_data.refresh(database, settings, asns=[d.A])
    a = row(database, d.A)
    assert (a.as_set, a.as_set_choice) == (f"AS{d.A}:AS-CUSTOMERS", "override")
    assert (a.prefixes_ipv4, a.origins) == (d.A_CUSTOMER_V4, [d.A_CUSTOMER])
    with database.read_session() as db:
        event = db.query(AuditEvent).filter_by(action="irr.override").one()
        assert event.details == {"from": None, "to": f"AS{d.A}:AS-CUSTOMERS"}


@pytest.mark.parametrize("junk", ["none", "AS-FOO; rm -rf /", "AS-GOOD --help"])
def test_an_invalid_override_changes_nothing(database: Database, junk: str) -> None:
    with pytest.raises(AppError) as refused, database.session() as db:
        irr_data.set_override(db, d.A, junk, audit.CLI)
    assert refused.value.code == "irr_as_set_invalid"
    with database.read_session() as db:
        assert db.get(IrrData, d.A) is None


def test_an_empty_expansion_keeps_the_last_good_data(
    database: Database, settings: Settings
) -> None:
    pdb(database, d.A, "AS-ZTIXA")
    irr_data.refresh(database, settings, asns=[d.A])
    good = row(database, d.A)
    with database.session() as db:
        irr_data.set_override(db, d.A, "AS-ZTIXEMPTY", audit.CLI)
    report = irr_data.refresh(database, settings, asns=[d.A])
    assert (report.changed, report.failed) == ([], {d.A: "irr_empty"})
    after = row(database, d.A)
    assert (after.prefixes_ipv4, after.origins, after.as_set) == (
        good.prefixes_ipv4,
        good.origins,
        good.as_set,
    )
    assert after.fetched_at == good.fetched_at
    assert after.last_error_code == "irr_empty" and "AS-ZTIXEMPTY" in (after.last_error or "")
    assert after.failures_total == 1


def test_irr_down_keeps_the_data_and_shows_the_failure(
    database: Database, settings: Settings
) -> None:
    pdb(database, d.A, "AS-ZTIXA")
    irr_data.refresh(database, settings, asns=[d.A])
    good = row(database, d.A)
    down = settings_for(database, f"127.0.0.1:{free_port()}")
    report = irr_data.refresh(database, down, asns=[d.A])
    assert report.failed == {d.A: "irr_query_failed"}
    after = row(database, d.A)
    assert (after.prefixes_ipv4, after.fetched_at) == (good.prefixes_ipv4, good.fetched_at)
    assert after.last_attempt_at is not None and after.last_attempt_at > good.fetched_at
    # Visible in /metrics: the member is failing, its data ages.
    metrics = {m.name: m for m in IrrCollector(database).collect()}
    failed = {s.labels["asn"]: s.value for s in metrics["ztix_irr_last_attempt_failed"].samples}
    assert failed == {str(d.A): 1}
    states = {s.labels["state"]: s.value for s in metrics["ztix_irr_members"].samples}
    assert states == {"ok": 0, "failing": 1, "never": 0}
    ages = metrics["ztix_irr_data_age_seconds"].samples
    assert [s.labels["asn"] for s in ages] == [str(d.A)] and ages[0].value >= 0
    # A later success clears the error.
    irr_data.refresh(database, settings, asns=[d.A])
    assert row(database, d.A).last_error_code is None


def test_a_full_table_for_a_small_member_is_flagged_not_used(
    database: Database, irrd: IrrdServer
) -> None:
    settings = settings_for(database, irrd.host, size_cap_floor_ipv4=100, size_cap_factor=10)
    pdb(database, d.BIG, "AS-ZTIXBIG", prefixes4=5)  # limit ceil(5 x 1.25) = 7, cap 100
    report = irr_data.refresh(database, settings, asns=[d.BIG])
    assert report.failed == {d.BIG: "irr_too_large"}
    big = row(database, d.BIG)
    assert big.prefixes_ipv4 is None and "300 IPv4" in (big.last_error or "")
    # A member with more prefixes on PeeringDB gets a cap that fits.
    pdb(database, d.BIG, "AS-ZTIXBIG", prefixes4=100)
    assert irr_data.refresh(database, settings, asns=[d.BIG]).changed == [d.BIG]


def test_refresh_is_off_when_irr_is_disabled(database: Database, irrd: IrrdServer) -> None:
    settings = make_settings(str(database.engine.url.render_as_string(hide_password=False)))
    assert irr_data.refresh(database, settings, asns=[d.A]).checked == 0


def test_the_route_servers_get_the_last_good_data(database: Database, settings: Settings) -> None:
    pdb(database, d.A, "AS-ZTIXA")
    irr_data.refresh(database, settings, asns=[d.A])
    peer = Peer("r", d.A, "abcdef0123", None, None, 10, 10)
    with_irr = peer_with_irr(peer, row(database, d.A))
    assert with_irr.irr_origins == (d.A, d.A_CUSTOMER)
    assert [str(n) for n in with_irr.irr_prefixes_ipv6 or ()] == d.A_V6
    # Never expanded: unchanged, "not checked".
    assert peer_with_irr(peer, None) == peer


def test_the_admin_refresh_button(
    database: Database, irrd: IrrdServer, make_client: Any, login_as: Any
) -> None:
    client = make_client(irr={"enabled": True, "server": irrd.host, "sources": ["TEST"]})
    admin = login_as("root", admin=True, client=client)
    assert (
        admin.put(f"/api/v1/admin/irr/{d.A}/override", json={"as_set": "AS-ZTIXA"}).status_code
        == 200
    )
    started = admin.post("/api/v1/admin/irr/refresh", json={"asn": d.A})
    assert started.status_code == 202
    assert started.json() == {"started": True, "asns": [d.A]}
    (status,) = admin.get("/api/v1/admin/irr").json()
    assert (status["as_set"], status["as_set_choice"]) == ("AS-ZTIXA", "override")
    assert (status["prefixes_ipv4"], status["prefixes_ipv6"], status["origins"]) == (3, 1, 2)
    assert status["age_seconds"] >= 0 and status["last_error"] is None
    with database.read_session() as db:
        event = db.query(AuditEvent).filter_by(action="irr.refresh_requested").one()
        assert (event.actor, event.target_id, event.details) == ("root", str(d.A), {"asns": [d.A]})


def test_a_changed_irr_is_seen_through_its_serial(database: Database) -> None:
    """Its own IRRd: reloading new data moves the serial, so the member is expanded again."""
    with IrrdServer(d.FIXTURES) as own:
        settings = settings_for(database, own.host)
        pdb(database, d.C, "")
        assert irr_data.refresh(database, settings, asns=[d.C]).changed == [d.C]
        assert irr_data.refresh(database, settings, asns=[d.C]).skipped == 1
        extra = rpsl_object("route", "185.3.1.0/24", origin=f"AS{d.C}", **d.MNT)
        own.reload(d.FIXTURES + extra)
        report = irr_data.refresh(database, settings, asns=[d.C])
        assert (report.changed, report.skipped) == ([d.C], 0)
        assert row(database, d.C).prefixes_ipv4 == ["185.3.0.0/24", "185.3.1.0/24"]


def test_only_changed_data_asks_the_route_servers_to_sync(
    database: Database, irrd: IrrdServer
) -> None:
    """A route-server client of AS-ZTIXA: its refresh marks the route server for a sync and
    the desired configuration carries the data; an unchanged refresh marks nothing."""
    from sqlalchemy import select

    from ztix.db.models import IxNetwork, JoinRequest, RouteServerState
    from ztix.workflow import networks
    from ztix.workflow import routeserver_desired as desired_state

    url = database.url
    settings = make_settings(
        url,
        irr={"enabled": True, "server": irrd.host, "sources": ["TEST"]},
        routeservers={
            "servers": [
                {
                    "name": "rs1",
                    "transport": "local",
                    "asn": 6777,
                    "router_id": "192.0.2.1",
                    "network": NWID,
                    "ipv4": "192.0.2.1",
                    "ipv6": "2001:db8:ab::1",
                }
            ]
        },
    )
    with database.session() as db:
        networks.sync_networks(db, audit.SYSTEM, settings.networks)
    with database.session() as db:
        network = db.scalars(select(IxNetwork).where(IxNetwork.zt_network_id == NWID)).one()
        db.add(
            JoinRequest(
                asn=d.A,
                network_id=network.id,
                node_id="a1a1a1a1a1",
                status="active",
                zt_authorized=True,
            )
        )
    pdb(database, d.A, "AS-ZTIXA")
    assert irr_data.refresh(database, settings).changed == [d.A]  # every client ASN
    with database.session() as db:
        state = db.get(RouteServerState, "rs1")
        assert state is not None and state.sync_requested_at is not None
        first_request = state.sync_requested_at
        desired, _ = desired_state.build(db, settings, settings.routeservers.servers[0])
    (peer,) = desired.peers
    assert peer.irr_origins == (d.A, d.A_CUSTOMER)
    assert [str(n) for n in peer.irr_prefixes_ipv4 or ()] == sorted(
        d.A_V4 + d.A_CUSTOMER_V4, key=ip.ip_network
    )

    irr_data.refresh(database, settings, force=True)  # asked again, same answer
    with database.read_session() as db:
        state = db.get(RouteServerState, "rs1")
        assert state is not None and state.sync_requested_at == first_request


def test_the_cli(database: Database, irrd: IrrdServer, tmp_path: Any) -> None:
    """`ztix irr override | refresh | show` against the real IRRd."""
    from typer.testing import CliRunner

    from ztix.cli.main import app

    config = tmp_path / "irr.yaml"
    config.write_text(f"irr:\n  enabled: true\n  server: '{irrd.host}'\n  sources: [TEST]\n")
    env = {"DATABASE_URL": database.url, "ZTIX_CONFIG": str(config)}
    runner = CliRunner()
    pdb(database, d.C, "none")

    bad = runner.invoke(app, ["irr", "override", str(d.A), "AS-OK --help"], env=env)
    assert bad.exit_code == 1 and "(irr_as_set_invalid)" in bad.output
    ok = runner.invoke(app, ["irr", "override", str(d.A), "test::as-ztixa"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "override TEST::AS-ZTIXA" in ok.output

    for asn in (d.A, d.C):
        done = runner.invoke(app, ["irr", "refresh", str(asn), "--no-sync"], env=env)
        assert done.exit_code == 0, done.output
        assert "1 members checked, 1 changed, 0 failed" in done.output
    shown = runner.invoke(app, ["irr", "show", str(d.A)], env=env)
    assert "TEST::AS-ZTIXA (override); 3 IPv4 / 1 IPv6 prefixes, 2 origins" in shown.output
    shown = runner.invoke(app, ["irr", "show", str(d.C)], env=env)
    assert f"AS{d.C}: AS{d.C} (asn); 1 IPv4 / 0 IPv6 prefixes" in shown.output

    runner.invoke(app, ["irr", "override", str(d.A), "AS-ZTIXEMPTY"], env=env)
    failed = runner.invoke(app, ["irr", "refresh", str(d.A), "--no-sync"], env=env)
    assert failed.exit_code == 1
    assert f"AS{d.A}: irr_empty (last good data kept)" in failed.output
    shown = runner.invoke(app, ["irr", "show", str(d.A)], env=env)
    assert "3 IPv4 / 1 IPv6 prefixes" in shown.output and "LAST ATTEMPT FAILED" in shown.output
