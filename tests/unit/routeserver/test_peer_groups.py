"""The members' files: a bounded number of groups, each member's change local to its group,
and every member findable inside its group file."""

from __future__ import annotations

import dataclasses
import re

from tests.support import routeserver_samples as samples
from ztix.routeserver.model import DesiredConfig
from ztix.routeserver.peer_groups import (
    MEMBER_RULE,
    PEER_GROUPS,
    group_file,
    group_header,
    member_at,
    member_section,
    peer_group,
)
from ztix.routeserver.render import MAIN_FILE, PEERS_PLACEHOLDER, peer_file, peer_protocols, render


def test_the_group_of_a_member_is_a_stable_hash_of_its_protocol_name() -> None:
    # Literals: a change of the hash would move every member on every route server.
    assert peer_group("AS213035_abcdef0123") == 27
    assert peer_group("AS13335_0123456789") == 19
    assert group_file(7) == "peers/group-07.conf"
    assert PEER_GROUPS == 64


def test_the_file_count_is_bounded_and_every_member_is_in_its_group() -> None:
    desired = samples.members(500, "/etc/bird/ztix")
    files = render(desired)
    groups = {name for name in files if name.startswith("peers/group-")}
    assert set(files) == {MAIN_FILE, PEERS_PLACEHOLDER} | groups
    assert len(groups) == PEER_GROUPS  # 500 members fill every group
    for peer in desired.peers:
        section = member_section(files, peer.protocol_base)
        assert section is not None
        assert section.startswith(f"{MEMBER_RULE}\n# ZT-IX peer AS{peer.asn} node {peer.node_id} ")
        for name in peer_protocols(peer):
            assert section.count(f"protocol bgp {name} {{") == 1
            assert f"protocol bgp {name} {{" in files[peer_file(peer)]
    # Inside a group, members are sorted by ASN and node ID.
    for name in groups:
        asns = [int(a) for a in re.findall(r"^# ZT-IX peer AS(\d+) ", files[name], re.M)]
        assert asns == sorted(asns) and asns
    assert sum(len(re.findall(r"^protocol bgp ", files[n], re.M)) for n in groups) == 1000


def test_one_member_changed_changes_one_group_file() -> None:
    desired = samples.members(200, "/etc/bird/ztix")
    before = render(desired)
    peer = dataclasses.replace(desired.peers[57], max_prefix_ipv4=4321)
    peers = (*desired.peers[:57], peer, *desired.peers[58:])
    after = render(DesiredConfig(desired.server, peers))
    assert [name for name in before if before[name] != after[name]] == [peer_file(peer)]
    assert "import limit 4321 action" in (member_section(after, peer.protocol_base) or "")
    # Its group neighbours' sections are unchanged.
    for other in desired.peers:
        if other is not desired.peers[57] and peer_file(other) == peer_file(peer):
            base = other.protocol_base
            assert member_section(after, base) == member_section(before, base)


def test_a_line_of_a_group_file_leads_to_its_member() -> None:
    """What an operator does with BIRD's `peers/group-NN.conf:<line>:<col>` error."""
    desired = samples.members(300, "/etc/bird/ztix")
    files = render(desired)
    peer = desired.peers[123]
    text = files[peer_file(peer)]
    lines = text.splitlines()
    neighbor = next(i for i, line in enumerate(lines) if f"neighbor {peer.ipv4} " in line)
    assert member_at(text, neighbor + 1) == (peer.asn, peer.node_id)
    assert member_at(text, 1) is None  # the group's own header
    assert member_section(files, "AS1_0000000000") is None


def test_a_member_section_is_exactly_its_own_rendering() -> None:
    desired = samples.members(200, "/etc/bird/ztix")
    files = render(desired)
    for peer in desired.peers[::37]:
        alone = render(DesiredConfig(desired.server, (peer,)))[peer_file(peer)]
        header = group_header(peer_group(peer.protocol_base))
        assert alone.startswith(header + "\n" + MEMBER_RULE + "\n# ZT-IX peer ")
        assert member_section(files, peer.protocol_base) == alone.removeprefix(header + "\n")
