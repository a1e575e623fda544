"""The VRP file reader (ztix.rpki.vrp), the per-member covering ROAs (domain.rpki) and how
the desired state takes them (workflow.routeserver_desired)."""

from __future__ import annotations

import ipaddress as ip
import json
import logging
import os
from pathlib import Path

import pytest

from tests.support import routeserver_samples as samples
from ztix.domain.routeserver import Peer
from ztix.domain.rpki import Roa, blackhole_roas, by_asn
from ztix.routeserver.peer_groups import member_section
from ztix.routeserver.render import render
from ztix.rpki import vrp
from ztix.workflow.routeserver_desired import peers_with_blackhole_roas

N4, N6 = ip.IPv4Network, ip.IPv6Network


def test_parse_reads_stayrtr_and_rpki_client_entries_and_counts_bad_ones() -> None:
    text = json.dumps(
        {
            "metadata": {"generated": 1},
            "roas": [
                {"prefix": "193.0.20.0/24", "maxLength": 24, "asn": "AS213035"},
                {"prefix": "2001:67c::/32", "maxLength": 48, "asn": 3333, "ta": "ripe"},
                {"prefix": "10.0.0.0/8", "asn": "as64500"},  # no maxLength: the prefix length
                {"prefix": "193.0.20.1/24", "maxLength": 24, "asn": 1},  # host bits
                {"prefix": "193.0.20.0/24", "maxLength": 16, "asn": 1},  # below the length
                {"prefix": "193.0.20.0/24", "maxLength": 33, "asn": 1},  # beyond /32
                {"prefix": "193.0.20.0/24", "maxLength": "24", "asn": 1},
                {"prefix": "nonsense", "maxLength": 24, "asn": 1},
                {"prefix": "193.0.20.0/24", "maxLength": 24, "asn": "AS-FOO"},
                {"prefix": "193.0.20.0/24", "maxLength": 24, "asn": 2**32},
                {"prefix": "193.0.20.0/24", "maxLength": 24, "asn": True},
                {"maxLength": 24, "asn": 1},
                ["193.0.20.0/24", 24, 1],
                None,
            ],
        }
    )
    data = vrp.parse(text)
    assert data is not None
    assert data.roas == (
        Roa(N4("193.0.20.0/24"), 24, 213035),
        Roa(N6("2001:67c::/32"), 48, 3333),
        Roa(N4("10.0.0.0/8"), 8, 64500),
    )
    assert data.skipped == 11
    assert set(data.by_asn) == {213035, 3333, 64500}


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"roas": {}}', '{"vrps": []}'])
def test_parse_refuses_what_is_not_a_vrp_file(text: str) -> None:
    assert vrp.parse(text) is None


def test_load_rereads_only_a_changed_file_and_a_missing_one_is_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "roas.json"
    caplog.set_level(logging.INFO, "ztix.rpki.vrp")
    assert vrp.load(path) is None
    assert vrp.load(path) is None
    assert [r.message for r in caplog.records].count(
        f"VRP file {path} is missing: blackholes under a covering ROA are off"
    ) == 1  # once per state, not per pass
    path.write_text(json.dumps({"roas": [{"prefix": "193.0.20.0/24", "maxLength": 24, "asn": 1}]}))
    first = vrp.load(path)
    assert first is not None and len(first.roas) == 1
    assert vrp.load(path) is first  # same mtime and size: the last parse
    path.write_text(
        json.dumps({"roas": [{"prefix": "193.0.22.0/24", "maxLength": 24, "asn": 1}, 7]})
    )
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = vrp.load(path)
    assert second is not None and second.roas == (Roa(N4("193.0.22.0/24"), 24, 1),)
    assert second.skipped == 1
    assert f"VRP file {path}: 1 ROAs, 1 bad entries skipped" in caplog.messages
    path.write_text("{")
    assert vrp.load(path) is None


ROAS = by_asn(
    [
        Roa(N4("193.0.20.0/24"), 24, 213035),
        Roa(N4("193.0.20.0/24"), 32, 213035),  # the same prefix again: once
        Roa(N4("185.1.0.0/22"), 24, 3333),
        Roa(N6("2001:67c::/32"), 48, 213035),
        Roa(N4("8.8.8.0/24"), 24, 15169),
    ]
)


def test_a_member_is_entitled_by_roas_of_its_asn_and_its_irr_origins() -> None:
    assert blackhole_roas(ROAS, 213035, None, 4) == ((213035, N4("193.0.20.0/24")),)
    assert blackhole_roas(ROAS, 213035, None, 6) == ((213035, N6("2001:67c::/32")),)
    assert blackhole_roas(ROAS, 213035, (213035, 3333), 4) == (
        (3333, N4("185.1.0.0/22")),
        (213035, N4("193.0.20.0/24")),
    )
    assert blackhole_roas(ROAS, 64500, (), 4) == ()


def test_a_changed_vrp_file_changes_only_the_affected_members(tmp_path: Path) -> None:
    path = tmp_path / "vrps.json"
    a = Peer("a", 213035, "a0a0a0a0a0", ip.IPv4Address("192.0.2.10"), None, 10, 10)
    b = Peer("b", 3333, "b0b0b0b0b0", ip.IPv4Address("192.0.2.20"), None, 10, 10)
    roa = {"prefix": "193.0.20.0/24", "maxLength": 24, "asn": "AS213035"}
    path.write_text(json.dumps({"roas": [roa]}))
    before = peers_with_blackhole_roas([a, b], path)
    assert before[0].blackhole_roas_ipv4 == ((213035, N4("193.0.20.0/24")),)
    assert before[1] == b
    other = {"prefix": "185.1.0.0/22", "maxLength": 22, "asn": 3333}
    path.write_text(json.dumps({"roas": [roa, other]}))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = peers_with_blackhole_roas([a, b], path)
    assert after[0] == before[0]
    assert after[1].blackhole_roas_ipv4 == ((3333, N4("185.1.0.0/22")),)
    path.unlink()
    assert peers_with_blackhole_roas([a, b], path) == [a, b]


def test_covering_roas_render_as_prefix_sets_per_origin_on_both_families() -> None:
    desired = samples.features()
    peer = desired.peers[0]
    files = render(
        desired.__class__(
            desired.server,
            (
                Peer(
                    "x",
                    64511,
                    "0a0a0a0a0a",
                    ip.IPv4Address("192.0.2.99"),
                    ip.IPv6Address("2001:db8:ab::99"),
                    10,
                    10,
                    blackhole_roas_ipv4=((64511, N4("193.0.20.0/24")),),
                    blackhole_roas_ipv6=((64511, N6("2001:67c::/32")), (64512, N6("2a00::/24"))),
                ),
                peer,
            ),
        )
    )
    text = member_section(files, "AS64511_0a0a0a0a0a") or ""
    assert "(bgp_path.last = 64511 && net ~ [\n\t193.0.20.0/24{24,32}\n])" in text
    assert "(bgp_path.last = 64511 && net ~ [\n\t2001:67c::/32{32,128}\n])" in text
    assert "|| (bgp_path.last = 64512 && net ~ [\n\t2a00::/24{24,128}\n])" in text
    # A member with IRR route objects: those decide, its ROAs are not rendered.
    irr = member_section(files, peer.protocol_base) or ""
    assert "ztix_blackhole_checked_v4(true)" in irr and "193.0.0.0/21{" not in irr
