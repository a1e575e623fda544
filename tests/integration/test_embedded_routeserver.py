"""The embedded default's route server (issue 20): `ztix serve` on the example configuration
starts a BIRD 2 and a StayRTR under its state directory, an approved member gets a rendered
and applied configuration there, and both programs stop with the app. Where BIRD is missing,
serve says so in one line and runs without a route server."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.routeserver_apply import BIRDC
from tests.support.serve import PASSWORD, Served, create_users, serving
from tests.support.services import free_port
from tests.support.waiting import wait_for
from ztix.lab.client import ApiSession, network_id
from ztix.routeserver.embedded import unavailable

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "runtime-config.example.yaml"
NODE = "abcdef0123"
ASN = 213035


@pytest.fixture
def root() -> Iterator[Path]:
    # Short: BIRD's control socket lives under it.
    path = Path(tempfile.mkdtemp(prefix="ztemb-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def example_config(root: Path, **embedded: Any) -> dict[str, Any]:
    """The example configuration `make run` copies, on free ports, every file under root."""
    config: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    config["database_url"] = f"sqlite:///{root / 'ztix.sqlite3'}"
    config["server"]["port"] = free_port()
    controller = config["zerotier"]["controller"]
    controller["url"] = f"http://127.0.0.1:{free_port()}"
    controller["emulator_home"] = str(root / "zerotier")
    controller["token_file"] = str(root / "zerotier" / "authtoken.secret")
    # No PeeringDB here: a closed local port fails at once and defaults apply.
    config["peeringdb_api"].update(base_url="http://127.0.0.1:9/api", timeout_seconds=1)
    config["jobs"]["reconcile_interval_seconds"] = 2
    config["routeservers"]["status_cache_seconds"] = 0
    config["routeservers"]["embedded"].update(
        state_dir=str(root / "rs"), bgp_port=free_port(), rtr_port=free_port(), **embedded
    )
    return config


def approve_one_member(served: Served) -> str:
    """A member's operator asks to join, the admin approves; the request ID."""
    create_users(served.config, ("admin1", True, []), ("noc", False, [ASN]))
    with ApiSession(served.url, "noc", PASSWORD) as noc:
        body = {"asn": ASN, "zt_network_id": network_id(noc, "ZT-IX Demo"), "node_id": NODE}
        request_id = str(noc.post("/api/v1/requests", body)["id"])
    with ApiSession(served.url, "admin1", PASSWORD) as admin:
        admin.post(f"/api/v1/admin/requests/{request_id}/approve")
    return request_id


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_an_approved_member_gets_an_applied_config_on_the_embedded_route_server(
    root: Path,
) -> None:
    config = example_config(root)
    embedded = config["routeservers"]["embedded"]
    state = root / "rs"
    with serving(root, config) as served:
        assert f"embedded route server {embedded['name']} AS{embedded['asn']}" in served.output()
        pid = int((state / "bird.pid").read_text())
        request_id = approve_one_member(served)
        with ApiSession(served.url, "noc", PASSWORD) as noc:

            def applied_and_waiting() -> list[Any] | None:
                if noc.get(f"/api/v1/requests/{request_id}")["status"] != "active":
                    return None
                servers: list[Any] = noc.get(f"/api/v1/requests/{request_id}/route-servers")
                ready = servers and servers[0]["applied"] and servers[0]["sessions"]
                return servers if ready else None

            servers = wait_for("the member active on the route server", applied_and_waiting, 90)
        assert [s["name"] for s in servers] == [embedded["name"]]
        assert servers[0]["bgp_port"] == embedded["bgp_port"]
        # Nobody's router is there: the sessions wait for it, none is up.
        sessions = servers[0]["sessions"]
        assert {s["family"] for s in sessions} == {"ipv4", "ipv6"}
        assert all(s["bgp_state"] != "Established" for s in sessions)

        # What BIRD runs: the member's peer file, listening on the configured port.
        peers = state / "ztix" / "live" / "peers"
        text = "\n".join(p.read_text() for p in peers.glob("*.conf"))
        assert f"port {embedded['bgp_port']} as ZTIX_RS_ASN;" in text
        shown = subprocess.run(
            [BIRDC, "-s", str(state / "bird.ctl"), "show", "protocols"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"AS{ASN}_{NODE}_v4" in shown
        assert "ztix_rpki_" in shown  # the RTR session to the embedded StayRTR
    # Stopping the app stops BIRD (and StayRTR with it).
    wait_for("BIRD to stop with the app", lambda: not alive(pid), 20)


def test_what_a_killed_serve_left_running_is_ended_by_the_next_start(root: Path) -> None:
    config = example_config(root)
    with serving(root, config) as served:
        stale = int((root / "rs" / "bird.pid").read_text())
        served.process.send_signal(signal.SIGKILL)  # no chance to stop BIRD and StayRTR
        served.process.wait(timeout=10)
    assert alive(stale)
    with serving(root, config) as served:
        assert "embedded route server rs-embedded AS64500: BIRD on" in served.output()
        assert int((root / "rs" / "bird.pid").read_text()) != stale
        assert not alive(stale)
        rtr = int((root / "rs" / "stayrtr.pid").read_text())
    wait_for("StayRTR to stop with the app", lambda: not alive(rtr), 20)


def test_without_bird_serve_says_so_and_runs_without_a_route_server(root: Path) -> None:
    config = example_config(root, bird=str(root / "no-such-bird"))
    assert unavailable(_embedded(config)) is not None
    with serving(root, config) as served:
        lines = [line for line in served.output().splitlines() if "embedded route server" in line]
        assert len(lines) == 1, lines
        assert lines[0].startswith("warning: no embedded route server (bird not installed")
        request_id = approve_one_member(served)
        with ApiSession(served.url, "noc", PASSWORD) as noc:
            wait_for(
                "the member active without a route server",
                lambda: noc.get(f"/api/v1/requests/{request_id}")["status"] == "active",
                60,
            )
            assert noc.get(f"/api/v1/requests/{request_id}/route-servers") == []
    assert not (root / "rs" / "bird.ctl").exists()


def _embedded(config: dict[str, Any]) -> Any:
    from ztix.config import EmbeddedRouteServerConfig

    return EmbeddedRouteServerConfig(**config["routeservers"]["embedded"])
