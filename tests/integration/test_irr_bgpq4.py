"""bgpq4 against a real IRRd 4 loaded with tests/support/irr_data.py: prefix lists, origin
ASNs, nested and looping AS-SETs, hierarchical names, sources, and every failure shape."""

from __future__ import annotations

import ipaddress as ip

import pytest

from tests.support import irr_data as d
from tests.support.irrd import IrrdServer
from tests.support.services import free_port
from ztix.config import IrrConfig
from ztix.domain.irr import InvalidIrrObject, IrrObject
from ztix.irr.bgpq4 import Bgpq4, IrrExpansionError


def bgpq4(irrd: IrrdServer, **overrides: object) -> Bgpq4:
    config = IrrConfig.model_validate(
        {"enabled": True, "server": irrd.host, "sources": ["TEST"], **overrides}
    )
    return Bgpq4(config)


def nets(*prefixes: str) -> tuple[ip.IPv4Network | ip.IPv6Network, ...]:
    return tuple(sorted(ip.ip_network(p) for p in prefixes))  # type: ignore[type-var]


def test_nested_as_set_with_a_loop(irrd: IrrdServer) -> None:
    got = bgpq4(irrd).expand([IrrObject("AS-ZTIXA")])
    # A's own and its customer's route objects; the customer's /25 is longer than /24.
    assert got.prefixes_ipv4 == nets(*d.A_V4, *d.A_CUSTOMER_V4)
    assert got.prefixes_ipv6 == nets(*d.A_V6)
    assert got.origins == (d.A, d.A_CUSTOMER)


def test_hierarchical_name_and_source(irrd: IrrdServer) -> None:
    got = bgpq4(irrd).expand([IrrObject(f"AS{d.A}:AS-CUSTOMERS", "TEST")])
    assert got.prefixes_ipv4 == nets(*d.A_CUSTOMER_V4)
    assert got.prefixes_ipv6 == ()
    assert got.origins == (d.A_CUSTOMER,)


def test_a_bare_asn_expands_to_its_route_objects(irrd: IrrdServer) -> None:
    got = bgpq4(irrd).expand([IrrObject(f"AS{d.C}")])
    assert (got.prefixes_ipv4, got.origins) == (nets(*d.C_V4), (d.C,))


def test_a_loop_of_sets_terminates(irrd: IrrdServer) -> None:
    got = bgpq4(irrd).expand([IrrObject("AS-ZTIXLOOP1")])
    assert (got.prefixes_ipv4, got.origins) == (nets(*d.C_V4), (d.C,))


def test_several_objects_are_united(irrd: IrrdServer) -> None:
    got = bgpq4(irrd).expand([IrrObject(f"AS{d.C}"), IrrObject(f"AS{d.A}:AS-CUSTOMERS")])
    assert got.prefixes_ipv4 == nets(*d.C_V4, *d.A_CUSTOMER_V4)
    assert got.origins == (d.A_CUSTOMER, d.C)


@pytest.mark.parametrize("name", ["AS-NOSUCHSET", "AS-ZTIXEMPTY"])
def test_unknown_or_empty_set_is_a_failure_not_an_empty_filter(irrd: IrrdServer, name: str) -> None:
    with pytest.raises(IrrExpansionError) as failed:
        bgpq4(irrd).expand([IrrObject(name)])
    assert failed.value.code == "irr_empty"


def test_an_unknown_source_finds_nothing(irrd: IrrdServer) -> None:
    with pytest.raises(IrrExpansionError) as failed:
        bgpq4(irrd).expand([IrrObject("AS-ZTIXA", "RIPE")])
    assert failed.value.code in {"irr_empty", "irr_query_failed"}


def test_irr_server_down() -> None:
    config = IrrConfig(enabled=True, server=f"127.0.0.1:{free_port()}", sources=("TEST",))
    with pytest.raises(IrrExpansionError) as failed:
        Bgpq4(config).expand([IrrObject("AS-ZTIXA")])
    assert failed.value.code == "irr_query_failed"


def test_a_server_that_never_answers_times_out() -> None:
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts (kernel backlog), never answers
        port = silent.getsockname()[1]
        config = IrrConfig(
            enabled=True, server=f"127.0.0.1:{port}", sources=("TEST",), timeout_seconds=1
        )
        with pytest.raises(IrrExpansionError) as failed:
            Bgpq4(config).expand([IrrObject("AS-ZTIXA")])
    assert failed.value.code == "irr_timeout"


def test_the_argument_list_is_validated() -> None:
    runner = Bgpq4(IrrConfig(enabled=True, server="127.0.0.1:43", sources=("TEST",)))
    argv = runner.argv("4", ["AS-FOO"], ["RIPE"])
    assert argv == [
        "bgpq4",
        "-h",
        "127.0.0.1:43",
        "-j",
        "-l",
        "irr",
        "-S",
        "RIPE",
        "-4",
        "-m",
        "24",
        "AS-FOO",
    ]
    for bad in (["-h"], ["AS-FOO; rm -rf /"], ["AS-FOO", "--"]):
        with pytest.raises(InvalidIrrObject):
            runner.argv("4", bad, ["RIPE"])
    with pytest.raises(InvalidIrrObject):
        runner.argv("4", ["AS-FOO"], ["-S"])
