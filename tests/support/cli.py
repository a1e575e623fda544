"""Running the real `ztix` command line in a subprocess, on the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.app import ROOT
from tests.support.services import free_port

EXAMPLE = ROOT / "runtime-config.example.yaml"


def embedded_env(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    """The example config (the embedded default), with its state under tmp_path."""
    zt_home = tmp_path / "zerotier"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZTIX_", "DATABASE_URL"))},
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "ZTIX_CONFIG": str(EXAMPLE),
        "ZTIX_ZEROTIER__CONTROLLER__URL": f"http://127.0.0.1:{free_port()}",
        "ZTIX_ZEROTIER__CONTROLLER__EMULATOR_HOME": str(zt_home),
        "ZTIX_ZEROTIER__CONTROLLER__TOKEN_FILE": str(zt_home / "authtoken.secret"),
        "ZTIX_JOBS__RECONCILE_INTERVAL_SECONDS": "1",
        # The example's embedded route server, with its files under tmp_path (never the
        # checkout's var/) and ports of its own (never the machine-wide 1179 and 3323).
        "ZTIX_ROUTESERVERS__EMBEDDED__STATE_DIR": str(tmp_path / "routeserver"),
        "ZTIX_ROUTESERVERS__EMBEDDED__BGP_PORT": str(free_port()),
        "ZTIX_ROUTESERVERS__EMBEDDED__RTR_PORT": str(free_port()),
    }


def ztix(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ztix.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
