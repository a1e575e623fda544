"""``ztix serve`` as a child process on a YAML configuration, as `make run` starts it, and
local accounts written into its database (what `ztix users create` does)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.waiting import wait_for
from ztix.config import load_settings
from ztix.db.session import Database
from ztix.workflow import audit, users

PASSWORD = "correct horse battery staple"


@dataclass
class Served:
    url: str
    config: Path
    log: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serving(root: Path, config: dict[str, Any]) -> Iterator[Served]:
    """Run ``ztix serve --config`` in ``root`` until the block ends (SIGTERM, as Ctrl-C)."""
    path = root / "ztix.yaml"
    path.write_text(yaml.safe_dump(config))
    log = root / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTIX_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ztix.cli", "serve", "--config", str(path)],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(f"http://127.0.0.1:{config['server']['port']}", path, log, process)

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"ztix serve exited ({process.returncode}):\n{served.output()}")
        try:
            return httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for("ztix serve to answer", answers, 90, every=0.2)
        yield served
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def create_users(config: Path, *accounts: tuple[str, bool, list[int]]) -> None:
    """(username, admin, asns) accounts with PASSWORD."""
    database = Database(load_settings(config).database_url)
    try:
        with database.session() as db:
            for username, admin, asns in accounts:
                users.create_local_user(
                    db, audit.CLI, username=username, password=PASSWORD, admin=admin, asns=asns
                )
    finally:
        database.dispose()
