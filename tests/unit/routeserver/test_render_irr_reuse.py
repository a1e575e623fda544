"""The desired state's IRR cache (issue 17, P3): an unchanged member's IRR data is the very
same objects from one pass to the next (not parsed again, its peer key parts reused by
identity), a changed one is parsed again and renders that member again, a member that left
is dropped, and the files are byte for byte what render() gives."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping

from tests.support import routeserver_samples as samples
from ztix.db.models import IrrData
from ztix.routeserver.model import DesiredConfig, Peer
from ztix.routeserver.peer_keys import NetworkParts, peer_key
from ztix.routeserver.render import RenderCache, render, render_hash
from ztix.workflow.routeserver_desired import IrrCache, IrrNetworks, peer_with_irr, with_irr


def _row(asn: int, v4: list[str], v6: list[str], origins: list[int], digest: str | None) -> IrrData:
    return IrrData(asn=asn, prefixes_ipv4=v4, prefixes_ipv6=v6, origins=origins, data_hash=digest)


class Store:
    """Stored rows by ASN, and the ASNs each load asked for."""

    def __init__(self, rows: list[IrrData]) -> None:
        self.rows = {r.asn: r for r in rows}
        self.loads: list[set[int]] = []

    def hashes(self) -> dict[int, str | None]:
        return {asn: r.data_hash for asn, r in self.rows.items()}

    def load(self, asns: Collection[int]) -> Mapping[int, IrrData]:
        self.loads.append(set(asns))
        return {a: self.rows[a] for a in asns if a in self.rows}


def _store() -> Store:
    return Store(
        [
            _row(64600, ["192.0.2.0/24", "198.51.100.0/24"], ["2001:db8:1::/48"], [64600], "a"),
            _row(64601, ["203.0.113.0/24"], [], [64601, 64602], "b"),
            _row(64602, ["20.0.0.0/16"], ["2a0e::/32"], [64602], None),  # no hash
            IrrData(asn=64603, data_hash=None),  # never expanded: "not checked"
        ]
    )


def _networks(cache: IrrCache, store: Store) -> dict[int, IrrNetworks | None]:
    return cache.networks("net", store.hashes(), store.load)


def test_unchanged_data_is_the_same_objects_and_is_not_loaded_again() -> None:
    cache, store = IrrCache(), _store()
    first = _networks(cache, store)
    assert store.loads == [{64600, 64601, 64602, 64603}]
    again = _networks(cache, store)
    assert store.loads[1] == {64602, 64603}  # rows without a hash: loaded every pass
    for asn in (64600, 64601):
        assert again[asn] is first[asn]
    assert again[64603] is None and first[64603] is None
    # No hash: parsed again, equal, never the same (nothing vouches that it is unchanged).
    assert again[64602] is not first[64602]
    assert dataclasses.astuple(again[64602]) == dataclasses.astuple(first[64602])  # type: ignore[arg-type]


def test_changed_data_is_parsed_again() -> None:
    cache, store = IrrCache(), _store()
    first = _networks(cache, store)
    store.rows[64600] = _row(64600, ["192.0.2.0/23"], ["2001:db8:1::/48"], [64600], "a2")
    again = _networks(cache, store)
    assert 64600 in store.loads[1] and 64601 not in store.loads[1]
    new, old = again[64600], first[64600]
    assert new is not None and old is not None and new is not old
    assert [str(n) for n in new.prefixes_ipv4] == ["192.0.2.0/23"]
    assert again[64601] is first[64601]


def test_members_that_left_are_dropped() -> None:
    cache, store = IrrCache(), _store()
    _networks(cache, store)
    assert set(cache._scopes["net"]) == {64600, 64601}  # with a hash and data only
    cache.networks("net", {64601: "b"}, store.load)
    assert set(cache._scopes["net"]) == {64601}
    # Back again: loaded and parsed again (its entry was dropped).
    store.loads.clear()
    _networks(cache, store)
    assert 64600 in store.loads[0]
    cache.drop("net")
    assert "net" not in cache._scopes


def test_scopes_are_apart() -> None:
    cache, store = IrrCache(), _store()
    a = cache.networks("a", store.hashes(), store.load)
    cache.networks("b", {64601: "b"}, store.load)  # another network: a's entries stay
    assert cache.networks("a", store.hashes(), store.load)[64600] is a[64600]


def test_parsed_as_peer_with_irr_parses() -> None:
    store = _store()
    peer = Peer("r", 64600, "abcdef0123", None, None, 10, 10)
    parsed = IrrCache().networks("net", store.hashes(), store.load)
    assert with_irr(peer, parsed[64600]) == peer_with_irr(peer, store.rows[64600])
    assert with_irr(peer, parsed[64603]) == peer_with_irr(peer, store.rows[64603]) == peer


def test_the_same_lists_give_the_same_key_parts() -> None:
    plain = dataclasses.replace(samples.features().peers[0], irr_prefixes_ipv4=None)
    peer = peer_with_irr(plain, _store().rows[64600])
    known: NetworkParts = {}
    first = peer_key(peer, found=known)
    found: NetworkParts = {}
    again = peer_key(dataclasses.replace(peer), known, found)
    assert again == first and found.keys() == known.keys() and len(found) == 2
    assert isinstance(first, tuple) and isinstance(again, tuple)
    assert all(a is b for a, b in zip(first[9:15], again[9:15], strict=True))
    # Equal lists that are other objects: their parts built again, equal.
    copied = peer_with_irr(plain, _store().rows[64600])
    assert copied.irr_prefixes_ipv4 is not peer.irr_prefixes_ipv4
    assert copied.irr_prefixes_ipv6 is not peer.irr_prefixes_ipv6
    fresh = peer_key(copied, known, {})
    assert isinstance(fresh, tuple) and fresh == first and fresh[10] is not first[10]
    # Another list: another key.
    other = dataclasses.replace(peer, irr_prefixes_ipv4=peer.irr_prefixes_ipv4[:1])  # type: ignore[index]
    assert peer_key(other, known, {}) != first


def _state(cache: IrrCache, store: Store) -> DesiredConfig:
    """A desired state built afresh, as every pass builds it, the members' IRR data through
    the IRR cache: the sample's members given the store's ASNs."""
    asns = sorted(store.rows)
    base = samples.members(len(asns), "/etc/bird/ztix")
    plain = [
        dataclasses.replace(
            p, asn=asn, irr_prefixes_ipv4=None, irr_prefixes_ipv6=None, irr_origins=None
        )
        for asn, p in zip(asns, base.peers, strict=True)
    ]
    parsed = cache.networks("net", store.hashes(), store.load)
    return DesiredConfig(base.server, tuple(with_irr(p, parsed.get(p.asn)) for p in plain))


def test_changed_irr_data_renders_that_member_again(rendered: list[str]) -> None:
    irr, store, renders = IrrCache(), _store(), RenderCache()
    state = _state(irr, store)
    before = render(state)
    renders.rendered("rs1", state)
    rendered.clear()
    # Unchanged: nothing rendered (the member without a hash is parsed again, equal).
    files, digest = renders.rendered("rs1", _state(irr, store))
    assert rendered == [] and files == before
    # One member's data changed: that member alone, and the files render() gives.
    store.rows[64601] = _row(64601, ["203.0.113.0/25"], [], [64601, 64602], "b2")
    changed = _state(irr, store)
    files, digest = renders.rendered("rs1", changed)
    member = next(p for p in changed.peers if p.asn == 64601)
    assert rendered == [member.request_id]
    assert files == render(changed) != before and digest == render_hash(files)
    # The same data as before under a new hash: parsed again, rendered as before.
    rendered.clear()
    store.rows[64601] = _row(64601, ["203.0.113.0/24"], [], [64601, 64602], "b3")
    files, _ = renders.rendered("rs1", _state(irr, store))
    assert rendered == [member.request_id] and files == before
