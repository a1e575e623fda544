"""The IX-F Member Export: GET /participants.json against the euro-ix 1.0 schema, with
members driven through the real workflow (provisioned on the controller emulator)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.jobs import SETTLED, load, run_until_settled
from tests.support.zt_fixtures import QueueDispatcher
from ztix.api.app import create_app
from ztix.config import IxfConfig, Settings
from ztix.db.base import utcnow
from ztix.db.models import PeeringDBNetwork, RouteServerPeer, User
from ztix.db.session import Database
from ztix.jobs.tasks import JobContext, process_request
from ztix.workflow import audit, ixf, users
from ztix.workflow import requests as service

SCHEMA_FILE = Path(__file__).parents[2] / "src/ztix/api/ixf/ixp-member-list-1.0.schema.json"
ADMIN = audit.Actor(name="root")
EMAIL = "noc-person@example.net"
USERNAME = "opalice"
NOTE = "call Alice on her mobile"


def load_schema() -> dict[str, Any]:
    """The upstream file as published; it has trailing commas that strict JSON refuses
    (src/ztix/api/ixf/ORIGIN.md), removed here and nothing else."""
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    return schema


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def validate(document: dict[str, Any]) -> None:
    checker = jsonschema.FormatChecker()  # ipv4, ipv6, email are checked by the stdlib
    checker.checks("date-time")(_is_rfc3339)  # rfc3339-validator is not installed
    jsonschema.Draft4Validator(load_schema(), format_checker=checker).validate(document)


def test_schema_file_is_the_upstream_one() -> None:
    schema = load_schema()
    assert schema["title"] == "IXP Member List Schema"
    assert schema["required"] == ["version", "timestamp", "ixp_list", "member_list"]
    assert len(SCHEMA_FILE.read_text(encoding="utf-8")) == 21043
    jsonschema.Draft4Validator.check_schema(schema)


def _submit(
    database: Database, settings: Settings, asn: int, node: str, network: int = 0
) -> uuid.UUID:
    with database.session() as db:
        user = db.scalar(select(User).where(User.username == USERNAME))
        if user is None:
            user = users.create_local_user(
                db, audit.CLI, username=USERNAME, password="x" * 12, admin=True
            )
            user.email = EMAIL
            user.display_name = "Alice Example"
        nwid = settings.networks[network].zt_network_id
        request = service.create_request(
            db, settings, user, ADMIN, asn=asn, zt_network_id=nwid, node_id=node, notes=NOTE
        )
        return request.id


def _approve(database: Database, request_id: uuid.UUID) -> None:
    with database.session() as db:
        service.approve(db, request_id, ADMIN)


def _activate(ctx: JobContext, request_id: uuid.UUID) -> None:
    _approve(ctx.database, request_id)
    run_until_settled(ctx, request_id)
    assert load(ctx.database, request_id).status == "active"


def _leave(ctx: JobContext, request_id: uuid.UUID) -> None:
    with ctx.database.session() as db:
        user = db.scalar(select(User).where(User.username == USERNAME))
        assert user is not None
        service.leave(db, user, request_id, ADMIN)
    for _ in range(40):
        process_request(ctx, request_id)
        if load(ctx.database, request_id).status in SETTLED:
            break
    assert load(ctx.database, request_id).status == "removed"


def _get(database: Database, settings: Settings) -> Any:
    app = create_app(settings, database=database, dispatcher=QueueDispatcher())
    with TestClient(app) as client:
        return client.get("/participants.json")


def _rs_settings(settings: Settings) -> Settings:
    """The same IX with one route server on the first network (none on the second)."""
    rs = {
        "name": "rs1",
        "transport": "local",
        "asn": 65000,
        "router_id": "192.0.2.250",
        "network": settings.networks[0].zt_network_id,
        "ipv4": "192.0.2.250",
        "ipv6": "2001:db8:ab::fa",
    }
    data = settings.model_dump(mode="json")
    data["routeservers"] = {"servers": [rs]}
    data["ixf"] = {
        "ixf_id": 999,
        "ixp_id": 7,
        "shortname": "ZT-IX FRA",
        "name": "ZT-IX Frankfurt virtual IX",
        "url": "https://ix.example.net/",
        "country": "DE",
        "peeringdb_id": 4242,
    }
    return Settings(**data)


@pytest.fixture
def populated(
    job_context: Callable[..., JobContext], database: Database
) -> tuple[JobContext, dict[str, uuid.UUID]]:
    """Requests in every interesting state; only three connections (two ASNs) are active."""
    ctx = job_context()
    s = ctx.settings
    ids = {
        "a_net0": _submit(database, s, 213035, "aaaaaaaaa1", 0),
        "a_net1": _submit(database, s, 213035, "aaaaaaaaa2", 1),
        "b_net0": _submit(database, s, 3320, "bbbbbbbbb1", 0),
        "pending": _submit(database, s, 6939, "ccccccccc1", 0),
        "approved": _submit(database, s, 15169, "ddddddddd1", 0),
        "removed": _submit(database, s, 13335, "eeeeeeeee1", 0),
        "rejected": _submit(database, s, 2914, "abcabcabc1", 0),
    }
    for key in ("a_net0", "a_net1", "b_net0", "removed"):
        _activate(ctx, ids[key])
    _leave(ctx, ids["removed"])
    _approve(database, ids["approved"])  # approved, never run: not a member yet
    with database.session() as db:
        service.reject(db, ids["rejected"], ADMIN, "no PeeringDB record")
        # PeeringDB's public data for AS3320 (a hint of 80 → 100 with the 25% headroom).
        db.add(
            PeeringDBNetwork(
                asn=3320,
                found=True,
                name="Deutsche Telekom AG",
                info_prefixes4=80,
                info_prefixes6=8,
                irr_as_set="AS-DTAG",
                fetched_at=utcnow(),
            )
        )
        # The limits route server rs1 was given for AS213035's first connection.
        db.add(
            RouteServerPeer(
                server="rs1",
                request_id=ids["a_net0"],
                asn=213035,
                max_prefix_ipv4=1234,
                max_prefix_ipv6=567,
                max_prefix_source="override",
                applied=True,
                applied_at=utcnow(),
            )
        )
    return ctx, ids


def test_document_validates_and_lists_exactly_the_active_members(
    populated: tuple[JobContext, dict[str, uuid.UUID]], database: Database
) -> None:
    ctx, ids = populated
    settings = _rs_settings(ctx.settings)
    response = _get(database, settings)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "public, max-age=300"
    document = response.json()
    validate(document)

    assert document["version"] == "1.0"
    (ixp,) = document["ixp_list"]
    assert ixp["ixf_id"] == 999 and ixp["ixp_id"] == 7
    assert ixp["shortname"] == "ZT-IX FRA" and ixp["name"] == "ZT-IX Frankfurt virtual IX"
    assert ixp["country"] == "DE" and ixp["peeringdb_id"] == 4242
    vlans = {v["name"]: v for v in ixp["vlan"]}
    assert set(vlans) == {"ZT-IX Frankfurt", "ZT-IX Lab"}
    assert vlans["ZT-IX Frankfurt"]["ipv4"] == {"prefix": "192.0.2.0", "mask_length": 24}
    assert vlans["ZT-IX Frankfurt"]["ipv6"] == {"prefix": "2001:db8:ab::", "mask_length": 64}
    assert vlans["ZT-IX Lab"]["ipv4"] == {"prefix": "198.51.100.0", "mask_length": 24}
    fra, lab = vlans["ZT-IX Frankfurt"]["id"], vlans["ZT-IX Lab"]["id"]

    # Exactly the active connections, with their real addresses.
    members = {m["asnum"]: m for m in document["member_list"]}
    assert sorted(members) == [3320, 213035]
    expected: dict[tuple[int, int], tuple[str | None, str | None]] = {}
    for key in ("a_net0", "a_net1", "b_net0"):
        request = load(database, ids[key])
        expected[(request.asn, request.network_id)] = (request.address(4), request.address(6))
    seen = {}
    for asn, member in members.items():
        assert member["member_type"] == "peering"
        for conn in member["connection_list"]:
            assert conn["ixp_id"] == 7 and conn["state"] == "active"
            (vlan,) = conn["vlan_list"]
            seen[(asn, vlan["vlan_id"])] = (vlan["ipv4"]["address"], vlan["ipv6"]["address"])
    assert seen == expected

    a = {
        c["vlan_list"][0]["vlan_id"]: c["vlan_list"][0] for c in members[213035]["connection_list"]
    }
    # On the route-served LAN, with the limits the route server was given.
    assert a[fra]["ipv4"]["routeserver"] is True
    assert a[fra]["ipv4"]["max_prefix"] == 1234 and a[fra]["ipv6"]["max_prefix"] == 567
    # The lab LAN has no route server; the limits are the policy defaults (no PeeringDB).
    assert a[lab]["ipv4"]["routeserver"] is False and a[lab]["ipv6"]["routeserver"] is False
    policy = settings.routeservers.policy
    assert a[lab]["ipv4"]["max_prefix"] == policy.default_max_prefix_ipv4
    assert a[lab]["ipv6"]["max_prefix"] == policy.default_max_prefix_ipv6
    assert "name" not in members[213035]  # nothing cached from PeeringDB

    b = members[3320]
    assert b["name"] == "Deutsche Telekom AG"
    (b_vlan,) = b["connection_list"][0]["vlan_list"]
    assert b_vlan["ipv4"]["routeserver"] is True
    assert b_vlan["ipv4"]["max_prefix"] == 100 and b_vlan["ipv6"]["max_prefix"] == 10
    assert b_vlan["ipv4"]["as_macro"] == "AS-DTAG"
    assert b["member_since"].endswith("Z")
    assert b["connection_list"][0]["connected_since"] == b["member_since"]

    # No personal data anywhere: not the requester's name, e-mail, username or notes.
    text = response.text
    for secret in (EMAIL, USERNAME, "Alice", NOTE, "@"):
        assert secret not in text
    # Nor the node IDs of anyone (they are not needed by IX-F and identify a machine).
    for node in ("aaaaaaaaa1", "bbbbbbbbb1", "ccccccccc1", "eeeeeeeee1"):
        assert node not in text


def test_public_without_login_and_deterministic(
    populated: tuple[JobContext, dict[str, uuid.UUID]], database: Database
) -> None:
    ctx, _ = populated
    first = _get(database, ctx.settings).json()
    second = _get(database, ctx.settings).json()
    first.pop("timestamp"), second.pop("timestamp")
    assert first == second
    # Without route servers nobody peers with one.
    for member in first["member_list"]:
        for conn in member["connection_list"]:
            for family in ("ipv4", "ipv6"):
                assert conn["vlan_list"][0][family]["routeserver"] is False


def test_empty_ix_is_still_a_valid_document(
    job_context: Callable[..., JobContext], database: Database
) -> None:
    ctx = job_context()
    response = _get(database, ctx.settings)
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["member_list"] == []
    assert len(document["ixp_list"][0]["vlan"]) == 2
    assert document["ixp_list"][0]["ixf_id"] == 0


def test_disabled_export_is_not_found(
    job_context: Callable[..., JobContext], database: Database
) -> None:
    ctx = job_context()
    data = ctx.settings.model_dump(mode="json")
    data["ixf"] = {"enabled": False}
    response = _get(database, Settings(**data))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_render_is_pure_and_orders_members() -> None:
    import ipaddress

    lan = ixf.PeeringLan(
        3, "LAN", ipaddress.IPv4Network("192.0.2.0/24"), ipaddress.IPv6Network("2001:db8::/64")
    )
    since = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    conns = (
        ixf.Connection(65501, 3, "192.0.2.9", None, False, 10, 5, None),
        ixf.Connection(1000, 3, "192.0.2.8", "2001:db8::8", True, 20, 6, since),
    )
    export = ixf.Export(lans=(lan,), connections=conns, members={})
    doc = ixf.render(export, IxfConfig(), datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    validate(doc)
    assert doc["timestamp"] == "2025-01-02T03:04:05Z"
    assert [m["asnum"] for m in doc["member_list"]] == [1000, 65501]
    assert doc["member_list"][0]["member_since"] == "2024-05-01T12:00:00Z"
    only_v4 = doc["member_list"][1]["connection_list"][0]["vlan_list"][0]
    assert "ipv6" not in only_v4 and only_v4["ipv4"]["max_prefix"] == 10
