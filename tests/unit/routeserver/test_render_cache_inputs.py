"""The render cache against every input of a member's text (issue 17, P3): a changed input
renders that member's group again, byte for byte what render() gives; an unchanged member
is not rendered again and its group is the very string deployed before; a change of the
server (policy, blackholing, graceful shutdown, RPKI validators) renders every member.

Templates and constants are fixed for a process (a new release is a new process with an
empty cache), so they are not inputs the cache compares."""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress as ip
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import routeserver_samples as samples
from ztix.routeserver.model import (
    Blackholing,
    DesiredConfig,
    Peer,
    Policy,
    RpkiValidator,
    files_hash,
)
from ztix.routeserver.render import RenderCache, peer_file, render, render_hash
from ztix.routeserver.tokens import RenderError

V4 = ip.IPv4Network
V6 = ip.IPv6Network


def _base() -> DesiredConfig:
    """The features sample (blackholing on, ROAs, passwords, receive limits) and a few
    more members, so that the members fall into several groups. Built afresh each call,
    as every sync pass builds its desired state."""
    features = samples.features()
    more = samples.members(6, features.server.config_dir).peers
    lan = features.server.ipv4_prefix
    extra = tuple(
        dataclasses.replace(p, ipv4=lan[100 + i], ipv6=ip.IPv6Address(f"2001:db8:ab::99:{i}"))
        for i, p in enumerate(more)
    )
    return DesiredConfig(features.server, (*features.peers, *extra))


# (what changes, the change) for the member at index 0 (dual stack, IRR data, ROAs,
# password, receive limits) or at index 3 (a plain member with IRR data on both families).
PEER_CHANGES: list[tuple[str, int, Callable[[Peer], Peer]]] = [
    ("IRR IPv4 prefix: another network", 3, lambda p: _v4(p, V4("198.51.100.0/24"))),
    ("IRR IPv4 prefix: another length", 3, lambda p: _v4(p, V4("20.0.0.0/23"))),
    ("IRR IPv4 prefix: one more", 3, lambda p: _more_v4(p, V4("203.0.113.0/24"))),
    ("IRR IPv4 prefixes: none known", 3, lambda p: _replace(p, irr_prefixes_ipv4=None)),
    ("IRR IPv4 prefixes: empty", 3, lambda p: _replace(p, irr_prefixes_ipv4=())),
    ("IRR IPv6 prefix: another network", 3, lambda p: _v6(p, V6("2a0e:ffff::/32"))),
    ("IRR IPv6 prefix: another length", 3, lambda p: _v6(p, V6("2a0e:3::/33"))),
    ("IRR IPv6 prefixes: none known", 3, lambda p: _replace(p, irr_prefixes_ipv6=None)),
    ("IRR origins", 3, lambda p: _replace(p, irr_origins=(*(p.irr_origins or ()), 64512))),
    ("IRR origins: none known", 3, lambda p: _replace(p, irr_origins=None)),
    ("max prefix IPv4", 3, lambda p: _replace(p, max_prefix_ipv4=p.max_prefix_ipv4 + 1)),
    ("max prefix IPv6", 3, lambda p: _replace(p, max_prefix_ipv6=p.max_prefix_ipv6 + 1)),
    ("receive limit IPv4", 0, lambda p: _replace(p, receive_limit_ipv4=251)),
    ("receive limit IPv6: none", 0, lambda p: _replace(p, receive_limit_ipv6=None)),
    ("IPv4 address", 3, lambda p: _replace(p, ipv4=ip.IPv4Address("192.0.2.200"))),
    ("IPv6 address", 3, lambda p: _replace(p, ipv6=ip.IPv6Address("2001:db8:ab::77"))),
    ("no IPv6 address", 3, lambda p: _replace(p, ipv6=None)),
    ("password", 0, lambda p: _replace(p, password="another-secret")),
    ("no password", 0, lambda p: _replace(p, password=None)),
    ("blackhole ROA IPv4", 1, lambda p: _roa4(p, (13335, V4("104.16.0.0/12")))),
    ("blackhole ROA IPv4: origin", 1, lambda p: _roa4(p, (13336, V4("104.16.0.0/13")))),
    ("blackhole ROAs IPv6: none", 1, lambda p: _replace(p, blackhole_roas_ipv6=())),
    ("blackhole ROAs IPv4: first ones", 3, lambda p: _roa4(p, (200003, V4("20.0.0.0/16")))),
    ("description (never rendered)", 3, lambda p: _replace(p, description="another")),
]


def _replace(peer: Peer, **changes: Any) -> Peer:
    return dataclasses.replace(peer, **changes)


def _v4(peer: Peer, network: V4) -> Peer:
    """The same number of IPv4 prefixes, the first one another."""
    rest = (peer.irr_prefixes_ipv4 or ())[1:]
    return _replace(peer, irr_prefixes_ipv4=(network, *rest))


def _more_v4(peer: Peer, network: V4) -> Peer:
    return _replace(peer, irr_prefixes_ipv4=(*(peer.irr_prefixes_ipv4 or ()), network))


def _v6(peer: Peer, network: V6) -> Peer:
    rest = (peer.irr_prefixes_ipv6 or ())[1:]
    return _replace(peer, irr_prefixes_ipv6=(network, *rest))


def _roa4(peer: Peer, pair: tuple[int, V4]) -> Peer:
    return _replace(peer, blackhole_roas_ipv4=(pair, *peer.blackhole_roas_ipv4[1:]))


def _with(state: DesiredConfig, index: int, peer: Peer) -> DesiredConfig:
    peers = list(state.peers)
    peers[index] = peer
    return DesiredConfig(state.server, tuple(peers))


@pytest.mark.parametrize(
    ("what", "index", "change"), PEER_CHANGES, ids=[c[0] for c in PEER_CHANGES]
)
def test_a_changed_member_input_renders_that_member_and_its_group_only(
    rendered: list[str], what: str, index: int, change: Callable[[Peer], Peer]
) -> None:
    cache = RenderCache()
    before, _ = cache.rendered("rs1", _base())
    assert len({peer_file(p) for p in _base().peers}) > 2  # the members span groups
    rendered.clear()

    changed_peer = change(_base().peers[index])
    assert changed_peer != _base().peers[index], what
    state = _with(_base(), index, changed_peer)
    files, digest = cache.rendered("rs1", state)

    assert rendered == [changed_peer.request_id], what
    expected = render(state)
    assert files == expected and digest == render_hash(expected), what
    group = peer_file(changed_peer)
    for name, text in files.items():
        if name.startswith("peers/group-") and name != group:
            assert text is before[name], (what, name)  # the very string: not joined again
    # Back to the state before: that member again, only it, and the first files.
    rendered.clear()
    again, _ = cache.rendered("rs1", _base())
    assert rendered == [changed_peer.request_id] and again == before, what


def test_an_unchanged_state_built_afresh_renders_nothing(rendered: list[str]) -> None:
    cache = RenderCache()
    before, digest = cache.rendered("rs1", _base())
    assert len(rendered) == len(_base().peers)
    rendered.clear()
    again, same = cache.rendered("rs1", _base())
    assert rendered == [] and (again, same) == (before, digest)
    assert all(again[name] is before[name] for name in before)
    # One member more: that member only; every group it is not in is the same string.
    rendered.clear()
    base = _base()
    extra = dataclasses.replace(
        base.peers[3],
        request_id="00000000-0000-4000-8000-999999999999",
        asn=64999,
        node_id="99999999ff",
        ipv4=ip.IPv4Address("192.0.2.222"),
        ipv6=None,
    )
    grown = DesiredConfig(base.server, (*base.peers, extra))
    files, _ = cache.rendered("rs1", grown)
    assert rendered == [extra.request_id] and files == render(grown)
    unchanged = [n for n in before if n.startswith("peers/") and n != peer_file(extra)]
    assert unchanged and all(files[n] is before[n] for n in unchanged)


def test_the_same_member_twice_renders_as_render_does(rendered: list[str]) -> None:
    base = _base()
    twice = DesiredConfig(base.server, (*base.peers, _base().peers[3]))
    assert RenderCache().rendered("rs1", twice)[0] == render(twice) == render(base)


SERVER_CHANGES: list[tuple[str, Callable[[DesiredConfig], DesiredConfig]]] = [
    ("policy: RPKI invalid tagged", lambda s: _server(s, policy=Policy(rpki_invalid="tag"))),
    ("policy: IRR prefix tagged", lambda s: _server(s, policy=Policy(irr_prefix="tag"))),
    ("policy: exact route objects", lambda s: _server(s, policy=Policy(irr_more_specifics=False))),
    ("policy: limit action", lambda s: _server(s, policy=Policy(import_limit_action="block"))),
    ("blackholing off", lambda s: _server(s, blackholing=Blackholing())),
    (
        "blackhole next hop",
        lambda s: _server(s, blackholing=Blackholing(True, ip.IPv4Address("192.0.2.67"))),
    ),
    ("graceful shutdown ends", lambda s: _server(s, drained=False)),
    (
        "RPKI validator settings",
        lambda s: _server(
            s, validators=(RpkiValidator("routinator", ip.IPv4Address("127.0.0.1"), 3324),)
        ),
    ),
    ("no RPKI validator", lambda s: _server(s, validators=())),
    ("BGP port", lambda s: _server(s, bgp_port=1179)),
    ("server name", lambda s: _server(s, name="rs2")),
]


def _server(state: DesiredConfig, **changes: Any) -> DesiredConfig:
    return DesiredConfig(dataclasses.replace(state.server, **changes), state.peers)


@pytest.mark.parametrize(("what", "change"), SERVER_CHANGES, ids=[c[0] for c in SERVER_CHANGES])
def test_a_changed_server_renders_every_member(
    rendered: list[str], what: str, change: Callable[[DesiredConfig], DesiredConfig]
) -> None:
    cache = RenderCache()
    cache.rendered("rs1", _base())
    rendered.clear()
    state = change(_base())
    files, digest = cache.rendered("rs1", state)
    assert sorted(rendered) == sorted(p.request_id for p in state.peers), what
    expected = render(state)
    assert files == expected and digest == render_hash(expected), what


def test_a_network_of_the_wrong_kind_is_refused_not_mistaken_for_a_cached_one() -> None:
    cache = RenderCache()
    base = _base()
    cache.rendered("rs1", base)
    peer = base.peers[3]
    # ::/0 and 0.0.0.0/0 are both the int 0 with length 0: the types tell them apart.
    for wrong in (
        _replace(peer, irr_prefixes_ipv4=(V6("::/0"),)),
        _replace(peer, irr_prefixes_ipv4=(V6("2a0e::/16"),)),  # too big for an IPv4 int
        _replace(peer, irr_prefixes_ipv6=(V4("0.0.0.0/0"),)),
        _replace(peer, ipv4=ip.IPv6Address("::1")),
        _replace(peer, blackhole_roas_ipv4=((13335,),)),  # not a pair
    ):
        with pytest.raises(RenderError):
            cache.rendered("rs1", _with(_base(), 3, wrong))
    zero = _replace(peer, irr_prefixes_ipv4=(V4("0.0.0.0/0"),))
    files, _ = cache.rendered("rs1", _with(_base(), 3, zero))
    assert files == render(_with(_base(), 3, zero))
    with pytest.raises(RenderError):
        cache.rendered("rs1", _with(_base(), 3, _replace(peer, irr_prefixes_ipv4=(V6("::/0"),))))
    assert cache.rendered("rs1", _base())[0] == render(_base())


def _sha256_of_set(files: dict[str, str]) -> str:
    """files_hash as documented, from scratch."""
    digest = hashlib.sha256()
    for path in sorted(files):
        name, body = path.encode(), files[path].encode()
        digest.update(b"%d:%s\0%d:%s\0" % (len(name), name, len(body), body))
    return digest.hexdigest()


def test_the_set_hash_hashed_on_from_the_first_changed_file_is_the_full_digest() -> None:
    files = {f"peers/group-{i:02d}.conf": f"group {i}\n" * i for i in range(8)}
    files["ztix.conf"] = "main\n"
    steps: list[Callable[[dict[str, str]], None]] = [
        lambda f: f.update({"peers/group-03.conf": "changed\n"}),
        lambda f: f.update({"peers/group-03.conf": "".join(["chan", "ged\n"])}),  # equal text
        lambda f: f.pop("peers/group-00.conf"),
        lambda f: f.update({"peers/group-99.conf": "last group\n"}),
        lambda f: f.update({"ztix.conf": "main again\n"}),
        lambda f: f.update({"peers/00-ztix.conf": "first\n"}),
        lambda f: f.clear(),
        lambda f: f.update({"ztix.conf": "alone\n"}),
    ]
    assert files_hash(files) == _sha256_of_set(files)
    for step in steps:
        files = dict(files)
        step(files)
        assert files_hash(files) == _sha256_of_set(files)
        assert files_hash(dict(files)) == _sha256_of_set(files)  # the same set again
