"""The render cache's peer keys: equal exactly when the peers are, so reusing a peer's file
never hides a change (issue 17, P3: the keys replace comparing the Peer objects)."""

from __future__ import annotations

import dataclasses
import ipaddress as ip

import pytest

from tests.support import routeserver_samples as samples
from ztix.routeserver.model import DesiredConfig, Peer
from ztix.routeserver.render import PEER_KEY_FIELDS, RenderCache, render, render_hash
from ztix.routeserver.tokens import RenderError


def test_the_key_covers_every_field_of_a_peer() -> None:
    assert set(PEER_KEY_FIELDS) == {f.name for f in dataclasses.fields(Peer)}


def _changed(peer: Peer) -> list[Peer]:
    v4 = peer.irr_prefixes_ipv4 or ()
    first = v4[0] if v4 else ip.IPv4Network("192.0.2.0/24")
    return [
        # The same number of prefixes, one of them another network or length.
        dataclasses.replace(peer, irr_prefixes_ipv4=(ip.IPv4Network("198.51.100.0/24"), *v4[1:])),
        dataclasses.replace(peer, irr_prefixes_ipv4=(first.supernet(), *v4[1:])),
        dataclasses.replace(peer, ipv4=ip.IPv4Address("192.0.2.99")),
        dataclasses.replace(peer, ipv6=None),
        dataclasses.replace(peer, irr_prefixes_ipv4=None),
        dataclasses.replace(peer, irr_prefixes_ipv4=()),
        dataclasses.replace(peer, irr_origins=(64500,)),
        dataclasses.replace(peer, max_prefix_ipv4=peer.max_prefix_ipv4 + 1),
        dataclasses.replace(peer, receive_limit_ipv6=77),
        dataclasses.replace(peer, password="another-secret"),
    ]


def test_a_changed_peer_renders_again_and_an_equal_one_is_reused(rendered: list[str]) -> None:
    basic = samples.basic()
    peer = basic.peers[0]
    for other in _changed(peer):
        cache = RenderCache()
        cache.rendered("rs1", basic)
        rendered.clear()
        state = DesiredConfig(basic.server, (other, *basic.peers[1:]))
        files, digest = cache.rendered("rs1", state)
        assert rendered == [peer.request_id], other  # that peer only, rendered again
        expected = render(state)
        assert files == expected and digest == render_hash(expected)
        # Back to the first state: equal peers, separately built, are reused.
        rendered.clear()
        again = cache.rendered("rs1", samples.basic())[0]
        assert rendered == [peer.request_id] and again == render(samples.basic())


def test_a_peer_whose_fields_cannot_be_keyed_is_still_refused() -> None:
    basic = samples.basic()
    cache = RenderCache()
    cache.rendered("rs1", basic)
    # An interface where a network belongs has a network's address and length: refused,
    # not mistaken for the cached network.
    peer = basic.peers[0]
    assert peer.irr_prefixes_ipv4
    as_interfaces = tuple(ip.IPv4Interface(str(n)) for n in peer.irr_prefixes_ipv4)
    wrong = dataclasses.replace(peer, irr_prefixes_ipv4=as_interfaces)  # type: ignore[arg-type]
    with pytest.raises(RenderError, match="IPv4 network"):
        cache.rendered("rs1", DesiredConfig(basic.server, (wrong, *basic.peers[1:])))
    # Not networks at all (strings have no network address): refused as before.
    texts = dataclasses.replace(peer, irr_prefixes_ipv4=("192.0.2.0/24",))  # type: ignore[arg-type]
    with pytest.raises(RenderError, match="IPv4 network"):
        cache.rendered("rs1", DesiredConfig(basic.server, (texts, *basic.peers[1:])))
    # An address given as text: refused as before.
    text_address = dataclasses.replace(peer, ipv4="192.0.2.10")  # type: ignore[arg-type]
    with pytest.raises(RenderError, match="IPv4 address"):
        cache.rendered("rs1", DesiredConfig(basic.server, (text_address, *basic.peers[1:])))
    # The cache still holds the good rendering.
    assert cache.rendered("rs1", basic)[0] == render(basic)
