"""The renderer: golden files, determinism, and refusal of anything unsafe.

Golden files live in tests/unit/routeserver/golden/<case>/. After an intended change, rewrite
them with ``ZTIX_UPDATE_GOLDEN=1 uv run pytest tests/unit/routeserver/test_render.py`` and review
the diff.
"""

from __future__ import annotations

import dataclasses
import ipaddress as ip
import os
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import routeserver_samples as samples
from ztix.routeserver.model import Blackholing, DesiredConfig, Policy, RpkiValidator
from ztix.routeserver.policy_data import RejectReason
from ztix.routeserver.render import (
    MAIN_FILE,
    PEERS_PLACEHOLDER,
    RenderCache,
    peer_file,
    peer_protocols,
    render,
    render_hash,
    render_host_config,
    rpki_protocols,
)
from ztix.routeserver.tokens import ConfigPath, HexId, Hostname, RenderError, Symbol, bird_value

GOLDEN = Path(__file__).parent / "golden"
HOST_FILE = "host-bird.conf"  # render_host_config's output, kept beside the rendered files

CASES: dict[str, Callable[[], DesiredConfig]] = {
    "basic": samples.basic,
    "asn32-tag": samples.asn32_tag,
    "minimal": samples.minimal,
    "irr-tag": samples.irr_tag,
    "features": samples.features,
}


def rendered_with_host(desired: DesiredConfig) -> dict[str, str]:
    return {**render(desired), HOST_FILE: render_host_config(desired.server)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_files(case: str) -> None:
    files = rendered_with_host(CASES[case]())
    directory = GOLDEN / case
    if os.environ.get("ZTIX_UPDATE_GOLDEN") == "1":
        for old in directory.rglob("*.conf"):
            old.unlink()
        for name, text in files.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(text)
    on_disk = {str(p.relative_to(directory)): p.read_text() for p in directory.rglob("*.conf")}
    assert sorted(on_disk) == sorted(files), "rendered file set differs from the golden files"
    for name, text in files.items():
        assert text == on_disk[name], (
            f"{case}/{name} differs from its golden file; if intended, rerun with "
            "ZTIX_UPDATE_GOLDEN=1 and review the diff"
        )


def test_file_layout_and_names() -> None:
    desired = samples.basic()
    files = render(desired)
    assert list(files) == sorted(files)
    assert set(files) == {MAIN_FILE, PEERS_PLACEHOLDER} | {peer_file(p) for p in desired.peers}
    # Grouped by a stable hash of the protocol name: these numbers never change.
    assert [peer_file(p) for p in desired.peers] == [
        "peers/group-27.conf",
        "peers/group-19.conf",
        "peers/group-61.conf",
    ]
    assert peer_protocols(desired.peers[0]) == ("AS213035_abcdef0123_v4", "AS213035_abcdef0123_v6")
    assert peer_protocols(desired.peers[2]) == ("AS4199999999_fedcba9876_v6",)
    assert rpki_protocols(desired.server) == ("ztix_rpki_routinator", "ztix_rpki_stayrtr")
    for peer in desired.peers:
        text = files[peer_file(peer)]
        for name in peer_protocols(peer):
            assert f"protocol bgp {name} {{" in text
    assert 'include "/etc/bird/ztix/peers/*.conf";' in files[MAIN_FILE]


def test_rendering_is_deterministic_and_independent_of_peer_order() -> None:
    desired = samples.basic()
    first = render(desired)
    peers = list(desired.peers)
    random.Random(4).shuffle(peers)
    again = render(DesiredConfig(server=desired.server, peers=tuple(peers)))
    assert first == again
    assert list(first) == list(again)
    assert render_hash(first) == render_hash(again)


def test_render_hash() -> None:
    files = render(samples.basic())
    digest = render_hash(files)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert render_hash(dict(reversed(list(files.items())))) == digest
    changed = dict(files)
    changed[MAIN_FILE] += "\n"
    assert render_hash(changed) != digest
    # Paths and contents cannot run into each other.
    assert render_hash({"a": "bc"}) != render_hash({"ab": "c"})
    assert render_hash({}) != render_hash({"a": ""})


def test_a_changed_limit_changes_only_that_peers_file() -> None:
    desired = samples.basic()
    before = render(desired)
    peer = dataclasses.replace(desired.peers[1], max_prefix_ipv4=2000)
    after = render(DesiredConfig(desired.server, (desired.peers[0], peer, desired.peers[2])))
    assert [name for name in before if before[name] != after[name]] == [peer_file(peer)]
    assert "import limit 2000 action restart;" in after[peer_file(peer)]


def test_description_is_never_rendered() -> None:
    files = render(samples.basic())
    text = "".join(files.values())
    assert "evil" not in text and "injected" not in text
    text = files[peer_file(samples.basic().peers[0])]
    assert 'description "AS213035 node abcdef0123 IPv4";' in text


def test_no_peers_still_renders_the_main_file() -> None:
    files = render(DesiredConfig(server=samples.server(), peers=()))
    assert set(files) == {MAIN_FILE, PEERS_PLACEHOLDER}  # peers/ must exist for BIRD


# ------------------------------------------------------------------------------ refusals


def replace_peer(**changes: object) -> DesiredConfig:
    desired = samples.basic()
    peer = dataclasses.replace(desired.peers[0], **changes)  # type: ignore[arg-type]
    return DesiredConfig(desired.server, (peer, *desired.peers[1:]))


def replace_server(**changes: object) -> DesiredConfig:
    desired = samples.basic()
    return DesiredConfig(dataclasses.replace(desired.server, **changes), desired.peers)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("desired", "message"),
    [
        (lambda: replace_peer(node_id='abc"; }'), "hex ID"),
        (lambda: replace_peer(node_id="ABCDEF0123"), "hex ID"),
        (lambda: replace_peer(node_id="abcdef012"), "10 hex digits"),
        (lambda: replace_peer(asn=0), "ASN"),
        (lambda: replace_peer(asn=4294967295), "ASN"),
        (lambda: replace_peer(asn=True), "ASN"),
        (lambda: replace_peer(asn="213035"), "ASN"),
        (lambda: replace_peer(asn=64500), "own ASN"),
        (lambda: replace_peer(ipv4="192.0.2.10"), "IPv4 address"),
        (lambda: replace_peer(ipv4=ip.IPv4Address("198.51.100.7")), "not a member address"),
        (lambda: replace_peer(ipv4=ip.IPv4Address("192.0.2.1")), "not a member address"),
        (lambda: replace_peer(ipv6=ip.IPv4Address("192.0.2.10")), "IPv6 address"),
        (lambda: replace_peer(ipv4=None, ipv6=None), "neither"),
        (lambda: replace_peer(max_prefix_ipv4=0), "max-prefix"),
        (lambda: replace_peer(irr_prefixes_ipv4=(ip.IPv6Network("2a0e::/32"),)), "IPv4 network"),
        (lambda: replace_peer(irr_prefixes_ipv4=("193.0.0.0/21",)), "IPv4 network"),
        (lambda: replace_peer(irr_origins=(213035, -1)), "IRR origin"),
        (lambda: replace_server(name="rs1\nprotocol bgp x {"), "route-server name"),
        (lambda: replace_server(config_dir='/etc/bird/ztix"; include "/etc/shadow'), "path"),
        (lambda: replace_server(config_dir="/etc/bird/../ztix"), "path"),
        (lambda: replace_server(config_dir="etc/bird"), "path"),
        (lambda: replace_server(config_dir="/etc/bird ztix"), "path"),
        (lambda: replace_server(asn=4294967295), "ASN"),
        (lambda: replace_server(ipv4=ip.IPv4Address("198.51.100.1")), "inside the peering LAN"),
        (lambda: replace_server(never_via_route_servers=(174, "6939; }")), "never-via"),
        (lambda: replace_server(drained="yes"), "drained"),
        (lambda: replace_peer(password='x" ; }; protocol bgp y {'), "BGP password"),
        (lambda: replace_peer(password="short"), "BGP password"),
        (lambda: replace_peer(receive_limit_ipv4=0), "receive limit"),
        (lambda: replace_server(policy=Policy(receive_limit_action="ignore")), "action"),
        (
            lambda: replace_server(
                blackholing=Blackholing(True, ip.IPv4Address("198.51.100.66"), None)
            ),
            "blackhole next hop",
        ),
        (
            lambda: replace_server(blackholing=Blackholing(True, ip.IPv4Address("192.0.2.1"))),
            "blackhole next hop",
        ),
        (
            lambda: replace_server(blackholing=Blackholing(True, "192.0.2.66")),  # type: ignore[arg-type]
            "IPv4 address",
        ),
        (
            lambda: replace_server(blackholing=Blackholing(True, ip.IPv4Address("192.0.2.10"))),
            "holds the network's blackhole next hop",
        ),
        (
            lambda: replace_server(policy=Policy(import_limit_action="restart; import all")),
            "action",
        ),
        (lambda: replace_server(policy=Policy(rpki_invalid="accept")), "rpki_invalid"),
        (lambda: replace_server(policy=Policy(ipv4_min_length=25)), "ipv4_max_length"),
        (
            lambda: replace_server(validators=(RpkiValidator("a b", "rtr.example.net", 323),)),
            "name",
        ),
        (lambda: replace_server(validators=(RpkiValidator("x", 'rtr"; }', 323),)), "host name"),
        (lambda: replace_server(validators=(RpkiValidator("x", "rtr.example.net", 0),)), "port"),
        (lambda: replace_server(validators=(RpkiValidator("x", "h", 323, 86400),)), "refresh"),
        (lambda: replace_server(validators=(RpkiValidator("x", "h", 323, 60, 30, 300),)), "expire"),
        (
            lambda: replace_server(
                validators=(RpkiValidator("x", "h", 1), RpkiValidator("x", "g", 2))
            ),
            "unique",
        ),
    ],
)
def test_unsafe_or_invalid_values_are_refused(
    desired: Callable[[], DesiredConfig], message: str
) -> None:
    with pytest.raises(RenderError, match=message):
        render(desired())


def test_duplicate_peers_are_refused() -> None:
    desired = samples.basic()
    twin = dataclasses.replace(desired.peers[0], request_id="another")
    with pytest.raises(RenderError, match="same protocol"):
        render(DesiredConfig(desired.server, (*desired.peers, twin)))


def test_validator_given_as_ip_text_is_rendered_as_an_address() -> None:
    desired = replace_server(validators=(RpkiValidator("v", "127.0.0.1", 3323),))
    assert "\tremote 127.0.0.1 port 3323;" in render(desired)[MAIN_FILE]


class SneakyInt(int):
    def __str__(self) -> str:
        return '1; }; include "/etc/shadow'


@pytest.mark.parametrize(
    "value", ["x", "", 1.5, None, True, b"x", ["1"], {"a": 1}, SneakyInt(1), RejectReason.BOGON]
)
def test_guard_refuses_anything_but_validated_types(value: object) -> None:
    with pytest.raises(RenderError, match="refusing"):
        bird_value(value)


@pytest.mark.parametrize(
    "value",
    [
        0,
        4294967295,
        ip.IPv4Address("192.0.2.1"),
        ip.IPv6Network("2001:db8::/32"),
        Symbol("AS1_abcdef0123_v4"),
        HexId("abcdef0123"),
        Hostname("rtr.example.net"),
        ConfigPath("/etc/bird/ztix"),
    ],
)
def test_guard_passes_validated_types(value: object) -> None:
    assert bird_value(value) is value


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (Symbol, "1abc"),
        (Symbol, "a-b"),
        (Symbol, "a;b"),
        (HexId, "xyz"),
        (Hostname, "-bad.example"),
        (Hostname, 'a"b'),
        (Hostname, "a..b"),
        (ConfigPath, "/a//b"),
        (ConfigPath, "/a/b/"),
        (ConfigPath, "/a/./b"),
        (ConfigPath, "/a\nb"),
    ],
)
def test_token_types_validate(kind: type[Symbol], value: str) -> None:
    with pytest.raises(RenderError):
        kind(value)


def test_host_config_contains_the_hosts_part() -> None:
    text = render_host_config(samples.server(), log_file="/var/log/bird/bird.log")
    assert "router id 192.0.2.1;" in text
    assert "protocol device {" in text
    assert 'log "/var/log/bird/bird.log" all;' in text
    assert 'include "/etc/bird/ztix/ztix.conf";' in text


def test_the_render_cache_renders_again_only_when_the_desired_state_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ztix.routeserver import render as render_module

    calls: list[int] = []
    expected = render_hash(render(samples.basic()))
    real_render = render_module._render

    def counted(desired: DesiredConfig, known: Any, groups: Any) -> Any:
        calls.append(len(desired.peers))
        return real_render(desired, known, groups)

    monkeypatch.setattr(render_module, "_render", counted)
    cache = render_module.RenderCache()
    files, digest = cache.rendered("rs1", samples.basic())
    assert digest == expected
    again, same = cache.rendered("rs1", samples.basic())  # an equal, separately built state
    assert (again, same) == (files, digest) and len(calls) == 1
    again["peers/x.conf"] = "changed by a caller"  # callers get their own dict
    assert cache.rendered("rs1", samples.basic())[0] == files
    assert cache.rendered("rs2", samples.basic())[1] == digest and len(calls) == 2
    fewer = DesiredConfig(samples.basic().server, samples.basic().peers[:1])
    assert cache.rendered("rs1", fewer)[1] != digest and len(calls) == 3


def test_the_render_cache_renders_only_the_peers_that_changed(rendered: list[str]) -> None:
    cache = RenderCache()
    basic = samples.basic()
    cache.rendered("rs1", DesiredConfig(basic.server, basic.peers[:2]))
    assert len(rendered) == 2
    rendered.clear()

    files, digest = cache.rendered("rs1", basic)  # one member more

    assert rendered == [basic.peers[2].request_id]
    assert files == render(basic) and digest == render_hash(files)
    # The groups the new member is not in are the very strings deployed before (the
    # apply's digests and the set hash are remembered by identity).
    rendered.clear()
    before = cache.rendered("rs1", DesiredConfig(basic.server, basic.peers[:2]))[0]
    after = cache.rendered("rs1", basic)[0]
    changed = peer_file(basic.peers[2])
    groups = [name for name in before if name.startswith("peers/group-") and name != changed]
    assert groups and all(after[name] is before[name] for name in groups)
    assert changed not in before or after[changed] != before[changed]
    # Another server (its name is in every peer file): everything renders again.
    other = DesiredConfig(dataclasses.replace(basic.server, name="rs2"), basic.peers)
    rendered.clear()
    assert cache.rendered("rs1", other)[0] == render(other)
    assert len(rendered) == len(basic.peers) * 2  # the cache's render, then render()


def test_a_bgp_port_other_than_179_is_where_the_sessions_listen() -> None:
    files = render(replace_server(bgp_port=1179))
    peers = "".join(text for name, text in files.items() if name != "ztix.conf")
    assert re.search(r"\tlocal [0-9.]+ port 1179 as ZTIX_RS_ASN;", peers)
    # 179 is left unsaid: the golden files above stay as they were.
    assert not re.search(r"local \S+ port", "".join(render(samples.basic()).values()))
    with pytest.raises(RenderError, match="BGP port"):
        render(replace_server(bgp_port=0))
