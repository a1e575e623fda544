"""Upgrading a route server from one file per member to the group files, with a real BIRD.

The release before wrote ``peers/AS<asn>_<node>.conf`` per member; the first apply after
the upgrade swaps in the group files, and the old files go with the old set (the new set is
built beside it from the rendered files only). Locally and over SSH.
"""

from __future__ import annotations

import dataclasses

from tests.support import routeserver_samples as samples
from tests.support.routeserver_apply import Bird
from ztix.routeserver.apply import ApplyResult, apply, files_hash
from ztix.routeserver.model import DesiredConfig
from ztix.routeserver.peer_groups import PEER_GROUPS, member_section
from ztix.routeserver.render import (
    MAIN_FILE,
    PEERS_PLACEHOLDER,
    expected_protocols,
    render,
)
from ztix.routeserver.transport import RouteServerTransport

MEMBERS = 150


def desired_for(bird: Bird) -> DesiredConfig:
    desired = samples.members(MEMBERS, str(bird.config_dir))
    # No RTR validator: nothing to resolve or reach from the test.
    return DesiredConfig(dataclasses.replace(desired.server, validators=()), desired.peers)


def per_member_layout(desired: DesiredConfig) -> dict[str, str]:
    """The set as the release before wrote it: ztix.conf, the placeholder and one file per
    member with that member's text."""
    files = render(desired)
    old = {MAIN_FILE: files[MAIN_FILE], PEERS_PLACEHOLDER: "# one file per member router.\n"}
    for peer in desired.peers:
        section = member_section(files, peer.protocol_base)
        assert section is not None
        old[f"peers/{peer.protocol_base}.conf"] = section
    return old


def run(
    transport: RouteServerTransport, bird: Bird, files: dict[str, str], expected: set[str]
) -> ApplyResult:
    return apply(transport, files, expected, main_config=str(bird.main_config), timeout_seconds=30)


def test_the_first_apply_after_the_upgrade_replaces_the_per_member_files(
    transport: RouteServerTransport, bird: Bird
) -> None:
    desired = desired_for(bird)
    expected = expected_protocols(desired)
    old = per_member_layout(desired)
    assert run(transport, bird, old, expected).changed
    assert bird.protocols() >= expected
    assert len(bird.deployed()) == MEMBERS + 2

    new = render(desired)
    result = run(transport, bird, new, expected)

    assert result.ok and result.changed, result
    assert result.previous_hash == files_hash(old)
    assert bird.deployed() == new  # no per-member file is left
    groups = [name for name in new if name.startswith("peers/group-")]
    assert 0 < len(groups) == len(new) - 2 <= PEER_GROUPS
    assert bird.protocols() >= expected and not bird.pending_undo()
    recorded = transport.read_manifest()
    assert recorded is not None and set(recorded.files) == set(new)
    # The old set is kept beside it, for a restore; the next apply is a no-op.
    previous = bird.config_dir.with_name("live.previous")
    assert (previous / "peers" / f"{desired.peers[0].protocol_base}.conf").exists()
    assert run(transport, bird, dict(new), expected).unchanged


def test_a_failed_upgrade_apply_restores_the_per_member_files(
    transport: RouteServerTransport, bird: Bird
) -> None:
    desired = desired_for(bird)
    expected = expected_protocols(desired)
    old = per_member_layout(desired)
    assert run(transport, bird, old, expected).changed

    # A protocol the new set does not define: verify fails after BIRD took the new set.
    result = run(transport, bird, render(desired), expected | {"AS64999_ffffffffff_v4"})

    assert not result.ok and result.stage == "verify", result
    assert result.rolled_back is True
    assert bird.deployed() == old
    assert bird.protocols() >= expected and not bird.pending_undo()
    assert transport.read_applied_hash() == files_hash(old)
