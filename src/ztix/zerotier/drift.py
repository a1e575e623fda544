"""Comparing a controller (or a restored archive) with what ZT-IX's database expects.

:class:`Expected` is the database's side (read by the workflow), :func:`read_view` the
controller's; :func:`compare` lists every :class:`Difference`. Members of in-flight
requests are skipped and ``known_extra_nodes`` (route servers) are never "unknown".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set

from ztix.config import NetworkConfig
from ztix.domain.controller import (
    Difference,
    DriftReport,
    Expected,
    MemberState,
    addresses,
)
from ztix.zerotier import layer2
from ztix.zerotier.controller import ControllerProvider
from ztix.zerotier.provider import ProviderNotFound

# -- comparing the controller with the database ---------------------------------------------------

# Network ID -> its members, or None when the network does not exist.
View = dict[str, dict[str, MemberState] | None]


def compare(
    expected: Expected, view: View, known_extra_nodes: Set[str] = frozenset()
) -> list[Difference]:
    """Every difference between the database's active memberships and ``view``."""
    diffs: list[Difference] = []
    for nwid in sorted(expected.networks):
        members = view.get(nwid)
        wanted = {node: addrs for (net, node), addrs in expected.active.items() if net == nwid}
        if members is None:
            diffs.append(Difference("missing_network", nwid, None, "the network does not exist"))
            members = {}
        for node, addrs in sorted(wanted.items()):
            state = members.get(node)
            if state is None:
                diffs.append(
                    Difference("missing_member", nwid, node, "active in ZT-IX, no such member")
                )
            elif not state.authorized:
                diffs.append(
                    Difference("unauthorized_member", nwid, node, "active in ZT-IX, not authorized")
                )
            elif state.addresses != addrs:
                diffs.append(
                    Difference(
                        "wrong_addresses",
                        nwid,
                        node,
                        f"has {sorted(state.addresses)}, ZT-IX assigned {sorted(addrs)}",
                    )
                )
        for node, state in sorted(members.items()):
            key = (nwid, node)
            if (
                not state.authorized
                or node in wanted
                or key in expected.in_flight
                or node in known_extra_nodes
            ):
                continue
            status = expected.other_status.get(key)
            why = f"its request is {status}" if status else "ZT-IX has no request for it"
            diffs.append(Difference("unknown_member", nwid, node, f"authorized, but {why}"))
    return diffs


def read_view(controller: ControllerProvider, network_ids: Iterable[str]) -> tuple[View, int]:
    """The members (authorization and addresses) of each network, and how many were read."""
    view: View = {}
    count = 0
    for nwid in network_ids:
        try:
            node_ids = controller.list_members(nwid)
        except ProviderNotFound:
            view[nwid] = None
            continue
        members: dict[str, MemberState] = {}
        for node in sorted(node_ids):
            raw = controller.get_member_raw(nwid, node)
            if raw is None:
                continue
            ips = raw.get("ipAssignments")
            members[node] = MemberState(
                authorized=raw.get("authorized") is True,
                addresses=addresses(ips if isinstance(ips, list) else []),
            )
        count += len(members)
        view[nwid] = members
    return view, count


# -- drift ----------------------------------------------------------------------------------------


def network_settings_drift(
    networks: Sequence[NetworkConfig], controller: ControllerProvider
) -> list[Difference]:
    """One ``network_setting`` difference per managed layer-2 field that differs on a
    declared network of this controller (a missing one is the members' comparison's
    ``missing_network``; a foreign prefix is preflight's to refuse)."""
    address = controller.status().address
    out: list[Difference] = []
    for conf in networks:
        nwid = conf.network_id(address)
        if nwid is None or not nwid.startswith(address):
            continue
        try:
            actual = controller.get_network(nwid)
        except ProviderNotFound:
            continue
        for change in layer2.drift(actual, layer2.desired_network(conf)):
            out.append(Difference("network_setting", nwid, None, change.describe()))
    return out


def drift_report(
    networks: Sequence[NetworkConfig],
    controller: ControllerProvider,
    expected: Expected,
    known_extra_nodes: Set[str] = frozenset(),
) -> DriftReport:
    """Declared networks whose layer-2 settings differ from desired (``network_setting``,
    one per field), members authorized on the controller that ``expected`` does not know,
    and expected active members the controller lacks, has deauthorized, or gives other
    addresses. Read-only; raises :class:`ProviderError` when the controller cannot be read."""
    settings_drift = network_settings_drift(networks, controller)
    view, member_count = read_view(controller, sorted(expected.networks))
    differences = settings_drift + compare(expected, view, known_extra_nodes)
    return DriftReport(differences, len(view), member_count)
