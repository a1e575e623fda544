"""The controller emulator over raw HTTP: is it the zerotier-one 1.14 API of DESIGN §4?

Each expectation here comes from the controller's source (EmbeddedNetworkController.cpp,
DB.cpp, FileDB.cpp, OneService.cpp, OSUtils.cpp), not from the adapter that uses it.
"""

from __future__ import annotations

import json
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ztix.zerotier.emulator import ControllerEmulator

NODE = "0123456789"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[ControllerEmulator]:
    with ControllerEmulator(tmp_path / "zt") as emulator:
        yield emulator


@pytest.fixture
def http(emu: ControllerEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers={"X-ZT1-Auth": emu.token}, timeout=5) as client:
        yield client


@pytest.fixture
def nwid(emu: ControllerEmulator, http: httpx.Client) -> str:
    network_id = f"{emu.address}000001"
    assert http.post(f"/controller/network/{network_id}", json={}).status_code == 200
    return network_id


def post_member(http: httpx.Client, nwid: str, body: Any, node: str = NODE) -> httpx.Response:
    return http.post(f"/controller/network/{nwid}/member/{node}", json=body)


# -- status, auth ------------------------------------------------------------------------------


def test_starts_fast_and_reports_status(tmp_path: Path) -> None:
    started = time.monotonic()
    with ControllerEmulator(tmp_path / "zt") as emu:
        assert time.monotonic() - started < 0.5
        status = httpx.get(f"{emu.url}/status", headers={"X-ZT1-Auth": emu.token}).json()
    assert re.fullmatch(r"[0-9a-f]{10}", emu.address) and not emu.address.startswith("ff")
    assert status["address"] == emu.address
    assert status["version"] == "1.14.2" and status["online"] is True
    assert status["publicIdentity"].startswith(f"{emu.address}:0:")


def test_controller_endpoint(http: httpx.Client) -> None:
    response = http.get("/controller")
    assert response.status_code == 200
    body = response.json()
    assert (body["controller"], body["apiVersion"], body["databaseReady"]) == (True, 4, True)


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-ZT1-Auth": "wrong"}, {"Authorization": "Bearer wrong"}, {"X-ZT1-Auth": ""}],
)
@pytest.mark.parametrize("path", ["/status", "/controller", "/controller/network", "/nope"])
def test_missing_or_wrong_token_is_401_with_empty_object(
    emu: ControllerEmulator, headers: dict[str, str], path: str
) -> None:
    response = httpx.get(f"{emu.url}{path}", headers=headers)
    assert response.status_code == 401
    assert response.content == b"{}"


def test_other_token_carriers(emu: ControllerEmulator) -> None:
    assert httpx.get(f"{emu.url}/status", params={"auth": emu.token}).status_code == 200
    bearer = {"Authorization": f"Bearer {emu.token}"}
    assert httpx.get(f"{emu.url}/status", headers=bearer).status_code == 200
    # Only the first credential present counts: a wrong header is not rescued by ?auth=.
    wrong_header = httpx.get(
        f"{emu.url}/status", params={"auth": emu.token}, headers={"X-ZT1-Auth": "x"}
    )
    assert wrong_header.status_code == 401


def test_health_needs_no_token(emu: ControllerEmulator) -> None:
    assert httpx.get(f"{emu.url}/health").json()["version"] == "1.14.2"


def test_unknown_route_is_404(http: httpx.Client, nwid: str) -> None:
    assert http.get("/nope").status_code == 404
    assert http.get(f"/controller/network/{nwid}/").status_code == 404
    assert http.delete("/controller/network").status_code == 404


def test_management_only_from_loopback_unless_allowed(tmp_path: Path) -> None:
    emu = ControllerEmulator(tmp_path / "zt")
    assert emu.authorized({"X-ZT1-Auth": emu.token}, {}, "127.0.0.1")
    assert emu.authorized({"X-ZT1-Auth": emu.token}, {}, "::ffff:127.0.0.1")
    assert not emu.authorized({"X-ZT1-Auth": emu.token}, {}, "192.0.2.7")
    allowed = ControllerEmulator(tmp_path / "zt", allow_management_from=["192.0.2.0/24"])
    assert allowed.authorized({"X-ZT1-Auth": emu.token}, {}, "192.0.2.7")


# -- networks ----------------------------------------------------------------------------------


def test_new_network_has_the_controller_defaults(
    emu: ControllerEmulator, http: httpx.Client
) -> None:
    nwid = f"{emu.address}abcdef"
    network = http.post(f"/controller/network/{nwid}", json={}).json()
    expected = {
        "id": nwid,
        "nwid": nwid,
        "objtype": "network",
        "revision": 1,
        "private": True,
        "mtu": 2800,
        "name": "",
        "multicastLimit": 32,
        "enableBroadcast": True,
        "v4AssignMode": {"zt": False},
        "v6AssignMode": {"zt": False, "rfc4193": False, "6plane": False},
        "routes": [],
        "ipAssignmentPools": [],
        "rules": [{"not": False, "or": False, "type": "ACTION_ACCEPT"}],
        "authTokens": [None],
        "capabilities": [],
        "tags": [],
        "dns": [],
        "remoteTraceTarget": None,
        "remoteTraceLevel": 0,
        "rulesSource": "",
        "ssoEnabled": False,
        "clientId": "",
        "authorizationEndpoint": "",
    }
    assert {k: network[k] for k in expected} == expected
    assert isinstance(network["creationTime"], int)
    assert http.get(f"/controller/network/{nwid}").json() == network
    assert http.get("/controller/network").json() == [nwid]


def test_network_coercion(http: httpx.Client, nwid: str) -> None:
    body = {
        "name": 42,
        "private": "no",
        "mtu": "1500",
        "enableBroadcast": 0,
        "v4AssignMode": "zt",
        "v6AssignMode": {"zt": "true"},
        "routes": [
            {"target": "192.0.2.0/24"},
            {"target": "2001:db8:ab::/64", "via": "192.0.2.1"},
            {"target": "bogus"},
            {"target": "10.0.0.0/33"},
            {"via": "10.0.0.1"},
        ],
        "ipAssignmentPools": [{"ipRangeStart": "192.0.2.10", "ipRangeEnd": "192.0.2.20"}],
        "rules": [
            {"type": "MATCH_ETHERTYPE", "etherType": 2048, "not": 1},
            {"type": "ACTION_DROP", "not": True},
            {"type": "NOT_A_RULE"},
            {"type": "ACTION_ACCEPT"},
        ],
    }
    network = http.post(f"/controller/network/{nwid}", json=body).json()
    assert network["name"] == "42"
    assert network["private"] is False
    assert network["mtu"] == 1500
    assert network["enableBroadcast"] is False
    assert network["v4AssignMode"] == {"zt": True}
    assert network["v6AssignMode"] == {"zt": True}  # only the keys that were sent survive
    assert network["routes"] == [
        {"target": "192.0.2.0/24", "via": None},
        {"target": "2001:db8:ab::/64", "via": None},
    ]
    assert network["ipAssignmentPools"] == [
        {"ipRangeStart": "192.0.2.10", "ipRangeEnd": "192.0.2.20"}
    ]
    assert network["rules"] == [
        {"type": "MATCH_ETHERTYPE", "etherType": 2048, "not": True, "or": False},
        {"type": "ACTION_DROP"},  # actions carry no not/or once rendered
        {"type": "ACTION_ACCEPT"},
    ]


@pytest.mark.parametrize(("mtu", "stored"), [(99999, 10000), (100, 1280), ("x", 1280), (-1, 10000)])
def test_mtu_is_clamped(http: httpx.Client, nwid: str, mtu: Any, stored: int) -> None:
    assert http.post(f"/controller/network/{nwid}", json={"mtu": mtu}).json()["mtu"] == stored


def test_foreign_prefix_is_stored_but_random_create_checks_the_address(
    emu: ControllerEmulator, http: httpx.Client
) -> None:
    foreign = "aaaaaaaaaa000001" if not emu.address.startswith("aa") else "bbbbbbbbbb000001"
    assert http.post(f"/controller/network/{foreign}", json={}).status_code == 200
    assert foreign in http.get("/controller/network").json()

    wrong = http.post(f"/controller/network/{foreign[:10]}______", json={})
    assert wrong.status_code == 400

    created = http.post(f"/controller/network/{emu.address}______", json={"name": "r"}).json()
    assert created["id"].startswith(emu.address) and created["name"] == "r"
    newer = http.post("/controller/network", json={}).json()
    assert newer["id"].startswith(emu.address) and newer["id"] != created["id"]


def test_unknown_network(emu: ControllerEmulator, http: httpx.Client) -> None:
    missing = f"{emu.address}0000ff"
    assert http.get(f"/controller/network/{missing}").status_code == 404
    assert http.delete(f"/controller/network/{missing}").status_code == 404
    assert http.get(f"/controller/network/{missing}/member").status_code == 404
    assert http.get(f"/controller/network/{missing}/member/{NODE}").status_code == 404
    assert post_member(http, missing, {"authorized": True}).status_code == 404
    assert http.get("/controller/network").json() == []


def test_delete_network_answers_it_and_removes_members(http: httpx.Client, nwid: str) -> None:
    post_member(http, nwid, {"authorized": True})
    deleted = http.delete(f"/controller/network/{nwid}")
    assert deleted.status_code == 200 and deleted.json()["id"] == nwid
    assert http.get(f"/controller/network/{nwid}").status_code == 404
    http.post(f"/controller/network/{nwid}", json={})
    assert http.get(f"/controller/network/{nwid}/member").json() == {}


# -- members -----------------------------------------------------------------------------------


def test_post_to_an_unseen_member_creates_it(http: httpx.Client, nwid: str) -> None:
    body = {"authorized": True, "ipAssignments": ["192.0.2.5"], "noAutoAssignIps": True}
    member = post_member(http, nwid, body).json()
    assert member["id"] == NODE and member["address"] == NODE and member["nwid"] == nwid
    assert member["authorized"] is True and member["ipAssignments"] == ["192.0.2.5"]
    assert member["noAutoAssignIps"] is True
    assert member["revision"] == 1
    assert member["lastAuthorizedCredentialType"] == "api"
    assert member["lastAuthorizedTime"] > 0
    assert member["objtype"] == "member"
    assert "name" not in member
    assert http.get(f"/controller/network/{nwid}/member/{NODE}").json() == member


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("yes", False),
        ("no", False),
        ("true", True),
        ("True", True),
        ("1", True),
        ("0", False),
        ("", False),
        (1, True),
        (0, False),
        (2.5, True),
        (None, False),
        ([], False),
        ({}, False),
    ],
)
def test_authorized_is_coerced_like_json_bool(
    http: httpx.Client, nwid: str, value: Any, stored: bool
) -> None:
    assert post_member(http, nwid, {"authorized": value}).json()["authorized"] is stored


def test_member_field_coercion(http: httpx.Client, nwid: str) -> None:
    body = {
        "name": 5,
        "noAutoAssignIps": "t",
        "activeBridge": "false",
        "ipAssignments": ["10.0.0.1/24", "garbage", "not.an.ip", "2001:DB8::0001", "fe80::1/64"],
        "tags": [[2, "7"], [1, 3], "bad"],
        "capabilities": [3, "1", 3],
    }
    member = post_member(http, nwid, body).json()
    assert member["name"] == "5"
    assert member["noAutoAssignIps"] is True
    assert member["activeBridge"] is False
    assert member["ipAssignments"] == ["10.0.0.1", "0.0.0.0", "2001:db8::1", "fe80::1"]
    assert member["tags"] == [[1, 3], [2, 7]]
    assert member["capabilities"] == [1, 3]


def test_ip_assignments_that_are_not_a_list_are_ignored(http: httpx.Client, nwid: str) -> None:
    post_member(http, nwid, {"ipAssignments": ["192.0.2.1"]})
    member = post_member(http, nwid, {"ipAssignments": "192.0.2.2"}).json()
    assert member["ipAssignments"] == ["192.0.2.1"]


def test_non_string_address_is_500_and_stores_nothing(http: httpx.Client, nwid: str) -> None:
    response = post_member(http, nwid, {"authorized": True, "ipAssignments": [1]})
    assert response.status_code == 500
    assert response.json()["error"] == 500
    assert "type_error" in response.json()["description"]
    assert http.get(f"/controller/network/{nwid}/member/{NODE}").status_code == 404


@pytest.mark.parametrize("raw", [b"{bad", b"", b"\xff"])
def test_malformed_json_is_500(http: httpx.Client, nwid: str, raw: bytes) -> None:
    response = http.post(f"/controller/network/{nwid}/member/{NODE}", content=raw)
    assert response.status_code == 500
    assert response.json()["error"] == 500
    assert http.post(f"/controller/network/{nwid}", content=raw).status_code == 500


def test_revision_counts_changes_only(http: httpx.Client, nwid: str) -> None:
    body = {"authorized": True, "ipAssignments": ["192.0.2.5"], "noAutoAssignIps": True}
    assert post_member(http, nwid, body).json()["revision"] == 1
    assert post_member(http, nwid, body).json()["revision"] == 1
    assert post_member(http, nwid, {"name": "x"}).json()["revision"] == 2
    assert post_member(http, nwid, {"authorized": False}).json()["revision"] == 3
    assert http.get(f"/controller/network/{nwid}/member").json() == {NODE: 3}

    network = http.post(f"/controller/network/{nwid}", json={}).json()
    assert network["revision"] == 1  # nothing changed
    assert http.post(f"/controller/network/{nwid}", json={"mtu": 1500}).json()["revision"] == 2


def test_member_list_shapes(emu: ControllerEmulator, http: httpx.Client, nwid: str) -> None:
    post_member(http, nwid, {"authorized": True}, node="0000000001")
    post_member(http, nwid, {"authorized": True}, node="0000000002")
    post_member(http, nwid, {"name": "n"}, node="0000000002")
    assert http.get(f"/controller/network/{nwid}/member").json() == {
        "0000000001": 1,
        "0000000002": 2,
    }
    emu.member_list_shape = "list"
    assert http.get(f"/controller/network/{nwid}/member").json() == [
        {"0000000001": 1},
        {"0000000002": 2},
    ]
    unstable = http.get(f"/unstable/controller/network/{nwid}/member").json()
    assert unstable["meta"] == {"totalCount": 2, "authorizedCount": 2}
    assert {m["id"] for m in unstable["data"]} == {"0000000001", "0000000002"}


def test_delete_member(http: httpx.Client, nwid: str) -> None:
    post_member(http, nwid, {"authorized": True})
    deleted = http.delete(f"/controller/network/{nwid}/member/{NODE}")
    assert deleted.status_code == 200 and deleted.json()["id"] == NODE
    assert http.delete(f"/controller/network/{nwid}/member/{NODE}").status_code == 404
    assert http.get(f"/controller/network/{nwid}/member/{NODE}").status_code == 404
    assert http.get(f"/controller/network/{nwid}/member").json() == {}


def test_upper_case_ids_in_the_path_are_accepted(http: httpx.Client, nwid: str) -> None:
    response = post_member(http, nwid.upper(), {"authorized": True}, node="ABCDEF0123")
    assert response.status_code == 200
    assert http.get(f"/controller/network/{nwid}/member").json() == {"abcdef0123": 1}


# -- on disk -----------------------------------------------------------------------------------


def test_identity_and_token_files(emu: ControllerEmulator) -> None:
    public = (emu.home / "identity.public").read_text()
    secret = (emu.home / "identity.secret").read_text()
    assert re.fullmatch(rf"{emu.address}:0:[0-9a-f]{{128}}", public)
    assert re.fullmatch(rf"{re.escape(public)}:[0-9a-f]{{128}}", secret)
    assert (emu.home / "authtoken.secret").read_text() == emu.token
    assert re.fullmatch(r"[a-z0-9]{24}", emu.token)
    for name in ("identity.secret", "authtoken.secret"):
        assert stat.S_IMODE((emu.home / name).stat().st_mode) == 0o600


def test_given_token_is_written_to_authtoken_secret(tmp_path: Path) -> None:
    emu = ControllerEmulator(tmp_path / "zt", token="given-token")
    assert (tmp_path / "zt" / "authtoken.secret").read_text() == "given-token"
    assert emu.token == "given-token"


def test_state_files_follow_every_change(
    emu: ControllerEmulator, http: httpx.Client, nwid: str
) -> None:
    network_dir = emu.home / "controller.d" / "network"
    network_file = network_dir / f"{nwid}.json"
    member_file = network_dir / nwid / "member" / f"{NODE}.json"

    assert json.loads(network_file.read_text()) == http.get(f"/controller/network/{nwid}").json()
    member = post_member(http, nwid, {"authorized": True, "ipAssignments": ["192.0.2.9"]}).json()
    assert json.loads(member_file.read_text()) == member
    member = post_member(http, nwid, {"authorized": False}).json()
    assert json.loads(member_file.read_text()) == member

    http.delete(f"/controller/network/{nwid}/member/{NODE}")
    assert not member_file.exists()
    http.delete(f"/controller/network/{nwid}")
    assert not network_file.exists() and not (network_dir / nwid).exists()


def test_restart_keeps_identity_token_and_state(tmp_path: Path) -> None:
    home = tmp_path / "zt"
    with ControllerEmulator(home) as first:
        address, token = first.address, first.token
        client = httpx.Client(base_url=first.url, headers={"X-ZT1-Auth": token})
        nwid = f"{address}000001"
        network = client.post(f"/controller/network/{nwid}", json={"mtu": 1500}).json()
        member = post_member(client, nwid, {"authorized": True, "ipAssignments": ["192.0.2.3"]})
        post_member(client, nwid, {"name": "renamed"})
        client.close()

    with ControllerEmulator(home) as second:
        assert (second.address, second.token) == (address, token)
        client = httpx.Client(base_url=second.url, headers={"X-ZT1-Auth": token})
        assert client.get(f"/controller/network/{nwid}").json() == network
        reloaded = client.get(f"/controller/network/{nwid}/member/{NODE}").json()
        assert reloaded["revision"] == 2 and reloaded["name"] == "renamed"
        assert reloaded["ipAssignments"] == member.json()["ipAssignments"]
        assert client.get(f"/controller/network/{nwid}/member").json() == {NODE: 2}
        client.close()


# -- database readiness and faults -------------------------------------------------------------


def test_database_ready_toggle(emu: ControllerEmulator, http: httpx.Client, nwid: str) -> None:
    emu.set_database_ready(False)
    response = http.get("/controller")
    assert response.status_code == 503 and response.json()["databaseReady"] is False
    assert http.get(f"/controller/network/{nwid}").status_code == 503
    assert post_member(http, nwid, {"authorized": True}).status_code == 503
    assert http.get("/status").status_code == 200
    emu.set_database_ready(True)
    assert http.get("/controller").json()["databaseReady"] is True


def test_admin_endpoint_is_guarded_and_sets_faults(emu: ControllerEmulator) -> None:
    assert httpx.post(f"{emu.url}/_emulator/faults", json={"error_count": 1}).status_code == 401
    auth = {"X-ZT1-Auth": emu.token}
    state = httpx.post(
        f"{emu.url}/_emulator/faults",
        headers=auth,
        json={"error_count": 2, "error_status": 502, "database_ready": False},
    ).json()
    assert state["error_count"] == 2 and state["database_ready"] is False
    assert httpx.get(f"{emu.url}/status", headers=auth).status_code == 502
    assert httpx.get(f"{emu.url}/status", headers=auth).status_code == 502
    assert httpx.get(f"{emu.url}/controller", headers=auth).status_code == 503
    bad = httpx.post(f"{emu.url}/_emulator/faults", headers=auth, json={"latency": "x"})
    assert bad.status_code == 400
    reset = httpx.post(f"{emu.url}/_emulator/faults", headers=auth, json={"reset": True}).json()
    assert reset["database_ready"] is True and reset["error_count"] == 0
    assert httpx.get(f"{emu.url}/controller", headers=auth).status_code == 200


def test_dropped_connection_really_drops(emu: ControllerEmulator, http: httpx.Client) -> None:
    emu.drop_next(1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.get("/status")
    assert http.get("/status").status_code == 200


def test_timeout_holds_the_request(emu: ControllerEmulator, http: httpx.Client) -> None:
    emu.time_out_next(1, hang_seconds=2)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.get("/status", timeout=0.3)
    assert time.monotonic() - started < 1
    assert http.get("/status").status_code == 200


def test_stop_releases_held_requests(tmp_path: Path) -> None:
    emu = ControllerEmulator(tmp_path / "zt").start()
    emu.time_out_next(1, hang_seconds=30)
    client = httpx.Client(base_url=emu.url, headers={"X-ZT1-Auth": emu.token}, timeout=0.2)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/status")
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 2
    client.close()


def test_latency(emu: ControllerEmulator, http: httpx.Client) -> None:
    emu.set_latency(0.2)
    started = time.monotonic()
    http.get("/status")
    assert time.monotonic() - started >= 0.2


def test_altered_member_writes(emu: ControllerEmulator, http: httpx.Client, nwid: str) -> None:
    emu.alter_next_member_writes(1, ipAssignments=[])
    member = post_member(http, nwid, {"authorized": True, "ipAssignments": ["192.0.2.1"]}).json()
    assert member["ipAssignments"] == []
    member = post_member(http, nwid, {"ipAssignments": ["192.0.2.1"]}).json()
    assert member["ipAssignments"] == ["192.0.2.1"]
