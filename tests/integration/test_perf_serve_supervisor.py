"""`ztix serve` in a deployment (issue 17, P6): once the site is prepared, the long-lived
process is uvicorn's supervisor alone (``ztix.supervisor``, same process ID) and holds
none of ZT-IX's application code; the HTTP workers answer, and the metrics directory it made
for them is removed when it stops."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.services import free_port
from ztix.zerotier.emulator import ControllerEmulator

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "runtime-config.example.yaml"


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[ControllerEmulator]:
    """A controller outside `ztix serve` (as in a deployment), not its embedded emulator."""
    with ControllerEmulator(tmp_path / "zt") as emulator:
        yield emulator


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [
        int(child) for task in tasks.iterdir() for child in (task / "children").read_text().split()
    ]


def test_serve_leaves_a_lean_supervisor_that_cleans_up(
    controller: ControllerEmulator, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZTIX_", "DATABASE_URL"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "ZTIX_CONFIG": str(EXAMPLE),
        "ZTIX_ZEROTIER__CONTROLLER__URL": controller.url,
        "ZTIX_ZEROTIER__CONTROLLER__TOKEN": controller.token,
        "ZTIX_ZEROTIER__CONTROLLER__EMBEDDED_EMULATOR": "false",
        # A deployment's route servers are its own hosts, not the example's embedded one.
        "ZTIX_ROUTESERVERS__EMBEDDED__ENABLED": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve makes its own, and removes it
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ztix.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "serve did not start"
            time.sleep(0.2)
        assert httpx.get(f"{base}/api/v1/me", timeout=5).status_code == 401  # the real app

        assert b"ztix.supervisor" in _cmdline(proc.pid).split(b"\0")  # the same process
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "pydantic_core" not in maps  # no settings, models, ORM or app code
        assert "sqlalchemy" not in maps
        assert "watchfiles" not in maps  # uvicorn's reloader's library: never reloads
        metrics_dir = Path(_environ(proc.pid)["PROMETHEUS_MULTIPROC_DIR"])
        assert metrics_dir.is_dir()
        workers = _children(proc.pid)
        assert len([w for w in workers if b"spawn_main" in _cmdline(w)]) == 2
        for worker in workers:  # its options are its own, not the HTTP workers'
            assert "ZTIX_SERVE" not in _environ(worker)
        for worker in (w for w in workers if b"spawn_main" in _cmdline(w)):
            worker_maps = Path(f"/proc/{worker}/maps").read_text()
            assert "watchfiles" not in worker_maps
            assert "cryptography" not in worker_maps  # no token or password keys configured
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert not metrics_dir.exists()
