"""The provider contract: one set of behaviours every ZeroTier backend must show.

The contract tests run once per backend:

- ``emulator``: :class:`ControllerProvider` against :class:`ControllerEmulator` (1.14 shapes);
- ``emulator-1.12-list``: the same, the emulator answering the 1.12.x member-list shape;
- ``central-fake``: :class:`CentralProvider` against ``tests/support/central_fake.py``;
- ``real-controller``: :class:`ControllerProvider` against the real zerotier-one 1.14.1 that
  the ``real_controller`` fixture runs in a network namespace (tests/support/real_controller.py),
  on a scratch network created under the controller's address for each test and deleted
  after it. It runs in every run; without the binary or root these tests fail saying so.

The fault tests at the end (5xx, timeouts, dropped connections, database not ready, altered
writes, token reload, rate limits) need fault injection and run against the emulator or the
Central fake only.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.central_fake import FakeCentral
from tests.support.real_controller import RealController
from ztix.zerotier.central import CentralProvider, CentralSettings
from ztix.zerotier.controller import ControllerProvider, ControllerSettings
from ztix.zerotier.emulator import ControllerEmulator
from ztix.zerotier.provider import (
    SYSTEM_CENTRAL,
    SYSTEM_CONTROLLER,
    MemberSpec,
    ProviderAuthFailed,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    ZeroTierProvider,
)

BACKENDS = ["emulator", "emulator-1.12-list", "central-fake", "real-controller"]

CENTRAL_NWID = "8056c2e21c000001"
FAST = 0.5  # client timeout (s) for the timeout tests


def node_id() -> str:
    while True:
        candidate = secrets.token_hex(5)
        if not candidate.startswith("ff") and candidate != "0000000000":
            return candidate


def unused_network(address: str, taken: set[str]) -> str:
    while True:
        candidate = f"{address}{secrets.token_hex(3)}"
        if candidate not in taken:
            return candidate


@dataclass
class Backend:
    name: str
    provider: ZeroTierProvider
    network_id: str
    missing_network_id: str
    system: str
    with_token: Callable[[str], ZeroTierProvider]


def _controller(url: str, token: str, timeout: float = 5.0) -> ControllerProvider:
    return ControllerProvider(ControllerSettings(url=url, token=token, timeout_seconds=timeout))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name: str = request.param
    made: list[ZeroTierProvider] = []

    def track(provider: ZeroTierProvider) -> ZeroTierProvider:
        made.append(provider)
        return provider

    try:
        if name.startswith("emulator"):
            shape = "list" if name.endswith("list") else "map"
            with ControllerEmulator(tmp_path / "zt", member_list_shape=shape) as emu:
                provider = _controller(emu.url, emu.token)
                nwid = f"{emu.address}000001"
                provider.set_network(nwid, {"name": "contract"})
                yield Backend(
                    name,
                    track(provider),
                    nwid,
                    f"{emu.address}0000ff",
                    SYSTEM_CONTROLLER,
                    lambda token: track(_controller(emu.url, token)),
                )
        elif name == "central-fake":
            with FakeCentral() as central:
                central.add_network(CENTRAL_NWID)

                def central_provider(token: str) -> ZeroTierProvider:
                    settings = CentralSettings(url=central.url, token=token)
                    return track(CentralProvider(settings))

                yield Backend(
                    name,
                    central_provider(central.token),
                    CENTRAL_NWID,
                    "8056c2e21c0000ff",
                    SYSTEM_CENTRAL,
                    central_provider,
                )
        else:
            ctl: RealController = request.getfixturevalue("real_controller")
            url, token = ctl.url, ctl.token
            provider = _controller(url, token, timeout=10.0)
            track(provider)
            address = provider.status().address
            taken = set(provider.list_networks())
            nwid = unused_network(address, taken)
            provider.set_network(nwid, {"name": "ztix-contract-scratch", "private": True})
            try:
                yield Backend(
                    name,
                    provider,
                    nwid,
                    unused_network(address, taken | {nwid}),
                    SYSTEM_CONTROLLER,
                    lambda token: track(_controller(url, token, timeout=10.0)),
                )
            finally:
                provider.delete_network(nwid)
    finally:
        for provider in made:
            provider.close()


def spec(b: Backend, node: str, *ips: str, authorized: bool = True, name: str = "") -> MemberSpec:
    return MemberSpec(b.network_id, node, authorized=authorized, ip_assignments=ips, name=name)


# -- the contract ------------------------------------------------------------------------------


def test_ensure_creates_a_preauthorized_member_and_reads_it_back(backend: Backend) -> None:
    node = node_id()
    assert backend.provider.get_member(backend.network_id, node) is None

    member = backend.provider.ensure_member(
        spec(backend, node, "192.0.2.10", "2001:db8:ab::21:3035:1", name="AS213035")
    )

    assert member.node_id == node and member.network_id == backend.network_id
    assert member.authorized is True
    assert sorted(member.ip_assignments) == ["192.0.2.10", "2001:db8:ab::21:3035:1"]
    assert member.name == "AS213035"
    assert member.no_auto_assign_ips is True
    assert isinstance(member.revision, int) and member.revision >= 1
    assert backend.provider.get_member(backend.network_id, node) == member


def test_ensure_is_idempotent(backend: Backend) -> None:
    node = node_id()
    wanted = spec(backend, node, "192.0.2.11", name="AS64500")
    first = backend.provider.ensure_member(wanted)
    second = backend.provider.ensure_member(wanted)

    assert (second.authorized, second.ip_assignments, second.name) == (
        first.authorized,
        first.ip_assignments,
        first.name,
    )
    assert list(backend.provider.list_members(backend.network_id)).count(node) == 1


def test_ensure_updates_addresses(backend: Backend) -> None:
    node = node_id()
    backend.provider.ensure_member(spec(backend, node, "192.0.2.12"))

    updated = backend.provider.ensure_member(spec(backend, node, "192.0.2.13", "2001:db8::13"))

    assert sorted(updated.ip_assignments) == ["192.0.2.13", "2001:db8::13"]
    fetched = backend.provider.get_member(backend.network_id, node)
    assert fetched is not None and sorted(fetched.ip_assignments) == sorted(updated.ip_assignments)


def test_ensure_accepts_non_canonical_ipv6_and_reads_back_canonical(backend: Backend) -> None:
    node = node_id()
    member = backend.provider.ensure_member(spec(backend, node, "2001:DB8:0:0::0014"))
    assert member.ip_assignments == ("2001:db8::14",)


def test_empty_name_leaves_the_name_alone(backend: Backend) -> None:
    node = node_id()
    backend.provider.ensure_member(spec(backend, node, "192.0.2.14", name="AS64501"))
    member = backend.provider.ensure_member(spec(backend, node, "192.0.2.15"))
    assert member.name == "AS64501"


def test_deauthorize_clears_authorization_and_addresses(backend: Backend) -> None:
    node = node_id()
    backend.provider.ensure_member(spec(backend, node, "192.0.2.16", "2001:db8::16", name="n"))

    member = backend.provider.deauthorize_member(backend.network_id, node)

    assert member is not None
    assert member.authorized is False and member.ip_assignments == ()
    assert member.name == "n"
    fetched = backend.provider.get_member(backend.network_id, node)
    assert fetched is not None and not fetched.authorized and fetched.ip_assignments == ()


@pytest.mark.parametrize("call", ["ensure", "deauthorize", "delete"])
def test_a_change_to_one_member_leaves_the_others_untouched(backend: Backend, call: str) -> None:
    """The workflow relies on it (issue 12): one member's leave, repair or provisioning
    never alters another member of the same network."""
    owner, other = node_id(), node_id()
    kept = backend.provider.ensure_member(
        spec(backend, owner, "192.0.2.18", "2001:db8::18", name="AS213035")
    )
    backend.provider.ensure_member(spec(backend, other, "192.0.2.19", name="AS213036"))

    if call == "ensure":
        backend.provider.ensure_member(spec(backend, other, "192.0.2.20", name="AS213036"))
    elif call == "deauthorize":
        backend.provider.deauthorize_member(backend.network_id, other)
    else:
        backend.provider.delete_member(backend.network_id, other)

    assert backend.provider.get_member(backend.network_id, owner) == kept
    assert backend.provider.list_members(backend.network_id)[owner] == kept.revision


def test_a_node_handed_to_a_new_owner_takes_its_name_and_addresses(backend: Backend) -> None:
    """A node changes hands (issue 12): the old owner's leave deauthorizes it, the new
    owner's provisioning authorizes it again with only the new owner's name and addresses."""
    node = node_id()
    backend.provider.ensure_member(spec(backend, node, "192.0.2.21", name="AS213035"))
    backend.provider.deauthorize_member(backend.network_id, node)

    member = backend.provider.ensure_member(
        spec(backend, node, "192.0.2.22", "2001:db8::22", name="AS213036")
    )

    assert member.authorized is True and member.name == "AS213036"
    assert sorted(member.ip_assignments) == ["192.0.2.22", "2001:db8::22"]
    assert backend.provider.get_member(backend.network_id, node) == member


def test_deauthorize_unknown_member_returns_none_and_creates_nothing(backend: Backend) -> None:
    node = node_id()
    assert backend.provider.deauthorize_member(backend.network_id, node) is None
    assert node not in backend.provider.list_members(backend.network_id)


def test_delete_is_idempotent(backend: Backend) -> None:
    node = node_id()
    backend.provider.ensure_member(spec(backend, node, "192.0.2.17"))

    backend.provider.delete_member(backend.network_id, node)
    backend.provider.delete_member(backend.network_id, node)

    assert backend.provider.get_member(backend.network_id, node) is None
    assert node not in backend.provider.list_members(backend.network_id)


def test_get_missing_member_returns_none(backend: Backend) -> None:
    assert backend.provider.get_member(backend.network_id, node_id()) is None


def test_list_members_includes_every_member_with_its_revision(backend: Backend) -> None:
    nodes = [node_id() for _ in range(3)]
    members = {
        n: backend.provider.ensure_member(spec(backend, n, f"192.0.2.{20 + i}"))
        for i, n in enumerate(nodes)
    }

    listed = backend.provider.list_members(backend.network_id)

    for node, member in members.items():
        assert listed[node] == member.revision
    assert all(isinstance(rev, int) for rev in listed.values())


def test_revision_moves_on_a_change(backend: Backend) -> None:
    node = node_id()
    first = backend.provider.ensure_member(spec(backend, node, "192.0.2.30"))
    second = backend.provider.ensure_member(spec(backend, node, "192.0.2.31"))
    assert first.revision is not None and second.revision is not None
    assert second.revision > first.revision


@pytest.mark.parametrize(
    "call",
    [
        lambda p, nw, node: p.ensure_member(MemberSpec(nw, node, True, ("192.0.2.40",))),
        lambda p, nw, node: p.get_member(nw, node),
        lambda p, nw, node: p.list_members(nw),
        lambda p, nw, node: p.deauthorize_member(nw, node),
        lambda p, nw, node: p.delete_member(nw, node),
    ],
    ids=["ensure", "get", "list", "deauthorize", "delete"],
)
def test_unknown_network_is_not_found(
    backend: Backend, call: Callable[[ZeroTierProvider, str, str], Any]
) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        call(backend.provider, backend.missing_network_id, node_id())
    assert caught.value.code == "controller_not_found"
    assert caught.value.retryable is False
    assert caught.value.system == backend.system


def test_bad_token_fails_at_once_without_retry(backend: Backend) -> None:
    provider = backend.with_token("not-the-token-" + secrets.token_hex(4))
    with pytest.raises(ProviderAuthFailed) as caught:
        provider.ensure_member(spec(backend, node_id(), "192.0.2.50"))
    assert caught.value.code == "controller_auth_failed"
    assert caught.value.retryable is False
    assert caught.value.system == backend.system
    with pytest.raises(ProviderAuthFailed):
        provider.list_members(backend.network_id)


@pytest.mark.parametrize(
    ("network_id", "node", "ips"),
    [
        ("8056c2e21c00000", "0123456789", ()),
        ("8056c2e21c000001/../x", "0123456789", ()),
        ("8056c2e21c000001", "ABCDEF0123", ()),
        ("8056c2e21c000001", "0123456789", ("192.0.2.300",)),
    ],
)
def test_invalid_input_is_rejected_before_any_call(
    backend: Backend, network_id: str, node: str, ips: tuple[str, ...]
) -> None:
    with pytest.raises(ProviderRejected):
        backend.provider.ensure_member(MemberSpec(network_id, node, True, ips))


# -- fault injection: emulator ---------------------------------------------------------------


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[ControllerEmulator]:
    with ControllerEmulator(tmp_path / "zt") as emu:
        yield emu


@pytest.fixture
def controller(emulator: ControllerEmulator) -> Iterator[ControllerProvider]:
    provider = _controller(emulator.url, emulator.token, timeout=FAST)
    provider.set_network(f"{emulator.address}000001", {"name": "faults"})
    yield provider
    provider.close()


def _nwid(emulator: ControllerEmulator) -> str:
    return f"{emulator.address}000001"


def _ensure(controller: ControllerProvider, emulator: ControllerEmulator, node: str) -> Any:
    return controller.ensure_member(MemberSpec(_nwid(emulator), node, True, ("192.0.2.60",)))


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_is_unavailable_and_retryable_then_recovers(
    emulator: ControllerEmulator, controller: ControllerProvider, status: int
) -> None:
    node = node_id()
    emulator.fail_next(2, status)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable) as caught:
            _ensure(controller, emulator, node)
        assert caught.value.retryable is True
        assert caught.value.code == "controller_unavailable"
        assert str(status) in caught.value.message
    assert _ensure(controller, emulator, node).authorized is True


def test_500_is_rejected_not_retried(
    emulator: ControllerEmulator, controller: ControllerProvider
) -> None:
    emulator.fail_next(1, 500)
    with pytest.raises(ProviderRejected) as caught:
        _ensure(controller, emulator, node_id())
    assert caught.value.retryable is False


def test_timeout_is_unavailable(
    emulator: ControllerEmulator, controller: ControllerProvider
) -> None:
    emulator.time_out_next(1, hang_seconds=FAST * 6)
    with pytest.raises(ProviderUnavailable) as caught:
        _ensure(controller, emulator, node_id())
    assert caught.value.retryable is True
    assert "no answer within" in caught.value.message


def test_dropped_connection_is_unavailable(
    emulator: ControllerEmulator, controller: ControllerProvider
) -> None:
    emulator.drop_next(1)
    with pytest.raises(ProviderUnavailable) as caught:
        _ensure(controller, emulator, node_id())
    assert caught.value.retryable is True


def test_connection_refused_is_unavailable(tmp_path: Path) -> None:
    with ControllerEmulator(tmp_path / "zt") as emu:
        url, token = emu.url, emu.token
    provider = _controller(url, token, timeout=FAST)
    with pytest.raises(ProviderUnavailable):
        provider.list_members("8056c2e21c000001")
    provider.close()


def test_latency_within_the_timeout_is_fine(
    emulator: ControllerEmulator, controller: ControllerProvider
) -> None:
    emulator.set_latency(0.05)
    assert _ensure(controller, emulator, node_id()).authorized is True


def test_database_not_ready(emulator: ControllerEmulator, controller: ControllerProvider) -> None:
    emulator.set_database_ready(False)
    status = controller.controller_status()
    assert (status.controller, status.api_version, status.database_ready) == (True, 4, False)
    with pytest.raises(ProviderUnavailable) as caught:
        _ensure(controller, emulator, node_id())
    assert caught.value.retryable is True

    emulator.set_database_ready(True)
    assert controller.controller_status().database_ready is True
    assert _ensure(controller, emulator, node_id()).authorized is True


@pytest.mark.parametrize(
    "altered",
    [
        {"authorized": False},
        {"ipAssignments": []},
        {"ipAssignments": ["192.0.2.61"]},
        {"noAutoAssignIps": False},
        {"name": "someone else"},
    ],
)
def test_a_write_that_reads_back_different_is_rejected(
    emulator: ControllerEmulator, controller: ControllerProvider, altered: dict[str, Any]
) -> None:
    emulator.alter_next_member_writes(1, **altered)
    with pytest.raises(ProviderRejected) as caught:
        controller.ensure_member(
            MemberSpec(_nwid(emulator), node_id(), True, ("192.0.2.60",), name="AS64500")
        )
    assert caught.value.message.startswith("readback_mismatch")
    assert caught.value.retryable is False


def test_deauthorize_that_reads_back_authorized_is_rejected(
    emulator: ControllerEmulator, controller: ControllerProvider
) -> None:
    node = node_id()
    _ensure(controller, emulator, node)
    emulator.alter_next_member_writes(1, authorized=True)
    with pytest.raises(ProviderRejected, match="readback_mismatch"):
        controller.deauthorize_member(_nwid(emulator), node)


def test_rate_limited_controller_answer_carries_retry_after(
    emulator: ControllerEmulator, controller: ControllerProvider
) -> None:
    emulator.fail_next(1, 429)
    with pytest.raises(ProviderRateLimited) as caught:
        controller.list_members(_nwid(emulator))
    assert caught.value.retryable is True


def test_exact_member_body_and_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        member = {
            "id": "0123456789",
            "authorized": True,
            "ipAssignments": ["192.0.2.70"],
            "noAutoAssignIps": True,
            "name": "AS64500",
            "revision": 3,
        }
        return httpx.Response(200, json=member)

    settings = ControllerSettings(url="http://zt.invalid:9993", token="t0k3n")
    with ControllerProvider(settings, transport=httpx.MockTransport(handler)) as provider:
        provider.ensure_member(
            MemberSpec("8056c2e21c000001", "0123456789", True, ("192.0.2.70",), "AS64500")
        )
    post = seen[0]
    assert post.method == "POST"
    assert post.url.path == "/controller/network/8056c2e21c000001/member/0123456789"
    assert post.headers["X-ZT1-Auth"] == "t0k3n"
    assert json.loads(post.content) == {
        "authorized": True,
        "ipAssignments": ["192.0.2.70"],
        "noAutoAssignIps": True,
        "name": "AS64500",
    }
    assert [r.method for r in seen] == ["POST", "GET"]


# -- token handling --------------------------------------------------------------------------


def test_token_from_file_and_reload(emulator: ControllerEmulator) -> None:
    token_file = emulator.home / "authtoken.secret"
    settings = ControllerSettings(url=emulator.url, token_file=token_file, timeout_seconds=FAST)
    with ControllerProvider(settings) as provider:
        nwid = f"{emulator.address}000002"
        provider.set_network(nwid, {})

        emulator.set_token("rotated-token-abcdefghijkl")  # rewrites authtoken.secret
        # The 401 makes the adapter re-read the file and try once more: no error at all.
        assert provider.list_members(nwid) == {}
        provider.reload_token()
        assert provider.list_members(nwid) == {}


def test_reload_keeps_the_old_token_when_the_new_one_is_refused(
    emulator: ControllerEmulator, tmp_path: Path
) -> None:
    token_file = tmp_path / "authtoken.secret"
    token_file.write_text(emulator.token)
    settings = ControllerSettings(url=emulator.url, token_file=token_file, timeout_seconds=FAST)
    with ControllerProvider(settings) as provider:
        token_file.write_text("a-wrong-token\n")
        with pytest.raises(ProviderAuthFailed):
            provider.reload_token()
        assert provider.status().address == emulator.address  # still the old token

        token_file.unlink()
        with pytest.raises(ProviderAuthFailed, match="cannot read"):
            provider.reload_token()
        token_file.write_text("")
        with pytest.raises(ProviderAuthFailed, match="empty"):
            provider.reload_token()
        assert provider.status().address == emulator.address


def test_reload_while_the_controller_is_down_keeps_the_old_token(
    emulator: ControllerEmulator,
) -> None:
    settings = ControllerSettings(
        url=emulator.url, token_file=emulator.home / "authtoken.secret", timeout_seconds=FAST
    )
    with ControllerProvider(settings) as provider:
        emulator.fail_next(1, 503)
        with pytest.raises(ProviderUnavailable):
            provider.reload_token()
        assert provider.status().address == emulator.address


def test_reload_without_a_token_file_is_an_error(emulator: ControllerEmulator) -> None:
    with _controller(emulator.url, emulator.token) as provider, pytest.raises(ProviderError):
        provider.reload_token()


def test_settings_need_a_token() -> None:
    with pytest.raises(ValueError, match="token"):
        ControllerProvider(ControllerSettings(url="http://127.0.0.1:9"))


def test_the_token_is_never_logged_or_in_errors(
    emulator: ControllerEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    original_token = emulator.token
    errors: list[ProviderError] = []
    token_file = emulator.home / "authtoken.secret"
    settings = ControllerSettings(url=emulator.url, token_file=token_file, timeout_seconds=FAST)
    with ControllerProvider(settings) as provider:
        nwid = f"{emulator.address}000003"
        provider.set_network(nwid, {})
        provider.ensure_member(MemberSpec(nwid, node_id(), True, ("192.0.2.80",)))
        provider.reload_token()
        for fault in ("drop", "503", "auth"):
            if fault == "drop":
                emulator.drop_next(1)
            elif fault == "503":
                emulator.fail_next(1, 503)
            else:
                emulator.set_token("another-token-0000000000")
                token_file.write_text("a-stale-token-0000000000")  # no better one to re-read
            try:
                provider.list_members(nwid)
            except ProviderError as exc:
                errors.append(exc)
    assert len(errors) == 3
    for secret in (original_token, emulator.token):
        assert secret not in caplog.text
        assert all(secret not in str(e) and secret not in repr(e) for e in errors)
    assert original_token not in repr(ControllerSettings(token=original_token))


# -- the controller's network and status calls --------------------------------------------------


def test_status_and_controller_status(
    emulator: ControllerEmulator, controller: ControllerProvider
) -> None:
    status = controller.status()
    assert (status.address, status.version, status.online) == (emulator.address, "1.14.2", True)
    ready = controller.controller_status()
    assert (ready.controller, ready.api_version, ready.database_ready) == (True, 4, True)


def test_network_lifecycle_calls(
    emulator: ControllerEmulator, controller: ControllerProvider
) -> None:
    nwid = f"{emulator.address}00abcd"
    body = {
        "name": "ZT-IX",
        "private": True,
        "mtu": 1500,
        "v4AssignMode": {"zt": False},
        "v6AssignMode": {"zt": False, "rfc4193": False, "6plane": False},
        "routes": [{"target": "192.0.2.0/24"}, {"target": "2001:db8:ab::/64"}],
        "rules": [
            {"type": "MATCH_ETHERTYPE", "etherType": 0x0800, "not": True},
            {"type": "MATCH_ETHERTYPE", "etherType": 0x0806, "not": True},
            {"type": "MATCH_ETHERTYPE", "etherType": 0x86DD, "not": True},
            {"type": "ACTION_DROP"},
            {"type": "ACTION_ACCEPT"},
        ],
    }
    network = controller.set_network(nwid, body)
    assert network["mtu"] == 1500 and network["name"] == "ZT-IX"
    assert network["routes"] == [
        {"target": "192.0.2.0/24", "via": None},
        {"target": "2001:db8:ab::/64", "via": None},
    ]
    assert network["rules"][0] == {
        "etherType": 2048,
        "not": True,
        "or": False,
        "type": "MATCH_ETHERTYPE",
    }
    assert network["rules"][-1] == {"type": "ACTION_ACCEPT"}
    assert nwid in controller.list_networks()
    assert controller.get_network(nwid) == network

    created = controller.create_network({"name": "random"})
    assert created["id"].startswith(emulator.address) and created["name"] == "random"

    assert controller.delete_network(nwid) is True
    assert controller.delete_network(nwid) is False
    with pytest.raises(ProviderNotFound):
        controller.get_network(nwid)


def test_raw_member_calls(emulator: ControllerEmulator, controller: ControllerProvider) -> None:
    node = node_id()
    nwid = _nwid(emulator)
    assert controller.get_member_raw(nwid, node) is None
    raw = controller.set_member_raw(
        nwid, node, {"authorized": True, "ipAssignments": ["192.0.2.90"], "tags": [[1, 2]]}
    )
    assert raw["tags"] == [[1, 2]] and raw["authorized"] is True
    assert controller.get_member_raw(nwid, node) == raw


def test_controller_status_of_a_node_without_controller() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    settings = ControllerSettings(url="http://zt.invalid:9993", token="x")
    with ControllerProvider(settings, transport=httpx.MockTransport(handler)) as provider:
        status = provider.controller_status()
    assert status.controller is False and status.database_ready is False


def test_non_json_success_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy</html>")

    settings = ControllerSettings(url="http://zt.invalid:9993", token="x")
    transport = httpx.MockTransport(handler)
    with (
        ControllerProvider(settings, transport=transport) as provider,
        pytest.raises(ProviderUnavailable, match="not JSON"),
    ):
        provider.list_members("8056c2e21c000001")


# -- Central specifics ---------------------------------------------------------------------------


@pytest.fixture
def central() -> Iterator[FakeCentral]:
    with FakeCentral() as fake:
        fake.add_network(CENTRAL_NWID)
        yield fake


def _central(fake: FakeCentral) -> CentralProvider:
    return CentralProvider(CentralSettings(url=fake.url, token=fake.token, timeout_seconds=FAST))


def test_central_body_uses_the_config_wrapper_and_token_header(central: FakeCentral) -> None:
    with _central(central) as provider:
        provider.ensure_member(
            MemberSpec(CENTRAL_NWID, "0123456789", True, ("192.0.2.100",), "AS64500")
        )
    post = next(r for r in central.requests if r.method == "POST")
    assert post.path == f"/api/v1/network/{CENTRAL_NWID}/member/0123456789"
    assert post.authorization == f"token {central.token}"
    assert post.body == {
        "config": {"authorized": True, "ipAssignments": ["192.0.2.100"], "noAutoAssignIps": True},
        "name": "AS64500",
    }


@pytest.mark.parametrize("header", ["Retry-After", "X-Ratelimit-Reset"])
def test_central_429_is_rate_limited_with_retry_after(central: FakeCentral, header: Any) -> None:
    central.rate_limit_next(1, retry_after=7, header=header)
    with _central(central) as provider:
        with pytest.raises(ProviderRateLimited) as caught:
            provider.list_members(CENTRAL_NWID)
        assert caught.value.code == "controller_rate_limited"
        assert caught.value.retryable is True
        assert caught.value.retry_after is not None and 5 <= caught.value.retry_after <= 8
        assert provider.list_members(CENTRAL_NWID) == {}


def test_central_5xx_is_unavailable(central: FakeCentral) -> None:
    central.fail_next(1, 500)
    with _central(central) as provider, pytest.raises(ProviderUnavailable):
        provider.list_members(CENTRAL_NWID)
