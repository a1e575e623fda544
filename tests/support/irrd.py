"""A real IRRd 4.5.4 for the IRR tests and bench/irr.py, loaded with RPSL fixtures.

DESIGN §8 says what was measured to make it work here: its own virtualenv (created by
``scripts/install-irrd.sh``, path ``$ZTIX_IRRD_VENV``), ``CI=1`` in its environment when
run as root, the config keys it insists on, ``rpki.roa_source: null`` (else it fetches ROAs
from the internet), and the preload start-up race: a whois worker that subscribes after the
"preload complete" message never loads routes and its ``!a``/``!g`` queries hang. So the
server is ready only once every worker listens on the preload channel and a ``reload`` was
published after that. IRRd's Redis pub/sub channels are shared across database numbers:
each IRRd gets its own ``redis-server`` (never the shared one on 6379).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
import redis

from tests.support.app import PG_ADMIN_DSN
from tests.support.services import RedisServer, free_port, wait_for_port
from tests.support.waiting import wait_for

IRRD_VERSION = "4.5.4"
SOURCE = "TEST"
ROOT = Path(__file__).resolve().parents[2]
WHOIS_WORKERS = 3
HTTP_WORKERS = 1
PRELOAD_CHANNEL = "irrd-preload-complete-channel"


def irrd_venv() -> Path:
    """The IRRd virtualenv, created by scripts/install-irrd.sh when missing."""
    venv = Path(
        os.environ.get("ZTIX_IRRD_VENV", Path.home() / ".cache" / "ztix" / f"irrd-{IRRD_VERSION}")
    )
    if not (venv / "bin" / "irrd").exists():
        subprocess.run(
            [str(ROOT / "scripts" / "install-irrd.sh")],
            check=True,
            env={**os.environ, "ZTIX_IRRD_VENV": str(venv)},
            timeout=600,
        )
    return venv


class IrrdServer:
    """IRRd with one source (``TEST``) holding ``rpsl``, its whois on 127.0.0.1:``port``.

    A context manager: the database, the Redis server and the processes go on exit.
    """

    def __init__(self, rpsl: str, *, whois_workers: int = WHOIS_WORKERS) -> None:
        self.rpsl = rpsl
        self.whois_workers = whois_workers
        self.venv = irrd_venv()
        self.root = Path(tempfile.mkdtemp(prefix="ztix-irrd-"))
        self.database = f"ztix_irrd_{uuid.uuid4().hex[:10]}"
        self.port = free_port()
        self.http_port = free_port()
        self.redis = RedisServer()
        self.proc: subprocess.Popen[bytes] | None = None
        self.serial = 1  # of the source, as !j reports it; each reload() adds one

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{self.database}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
        env["CI"] = "1"  # IRRd refuses to run as root otherwise
        env["PATH"] = f"{self.venv / 'bin'}:{env.get('PATH', '')}"
        return env

    def _config(self) -> Path:
        (self.root / "gnupg").mkdir(mode=0o700)
        (self.root / "pid").mkdir()
        config = f"""\
irrd:
  database_url: "{self.database_url}"
  redis_url: "{self.redis.url}"
  piddir: "{self.root / "pid"}"
  log:
    logfile_path: "{self.root / "irrd.log"}"
    level: INFO
  email:
    from: irrd@example.net
    smtp: 127.0.0.1
  auth:
    gnupg_keyring: "{self.root / "gnupg"}"
  rpki:
    roa_source: null
  server:
    http:
      url: "http://127.0.0.1:{self.http_port}/"
      interface: 127.0.0.1
      port: {self.http_port}
      workers: {HTTP_WORKERS}
    whois:
      interface: 127.0.0.1
      port: {self.port}
      max_connections: {self.whois_workers}
  sources_default: [{SOURCE}]
  sources:
    {SOURCE}:
      keep_journal: false
"""
        path = self.root / "irrd.yaml"
        path.write_text(config)
        return path

    def _run(self, *argv: str, timeout: float = 300) -> None:
        done = subprocess.run(
            [str(self.venv / "bin" / argv[0]), *argv[1:]],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")

    def start(self) -> None:
        self.redis.open()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        config = self._config()
        self._run("irrd_database_upgrade", "--config", str(config))
        fixtures = self.root / "fixtures.rpsl"
        fixtures.write_text(self.rpsl)
        self._load(config, fixtures)
        with (self.root / "stdout.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.venv / "bin" / "irrd"), "--config", str(config), "--foreground"],
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_for_port(self.port, 60, self.proc)
        self._preload()

    def _load(self, config: Path, fixtures: Path) -> None:
        self._run(
            "irrd_load_database",
            "--config",
            str(config),
            "--source",
            SOURCE,
            "--serial",
            str(self.serial),
            str(fixtures),
        )
        # `!j` reports a source's serial as NRTM mirroring records it (serial_newest_mirror),
        # which a file load does not set: record it as a mirror of serial N would have, so
        # TEST looks like a mirrored source on rr.ntt.net does.
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE database_status SET serial_newest_mirror = %s WHERE source = %s",
                (self.serial, SOURCE),
            )

    def _preload(self) -> None:
        """Work around the preload race (DESIGN §8): once every worker has subscribed,
        publish a reload, so none of them missed the one message that loads the routes."""
        client = redis.Redis.from_url(self.redis.url)
        try:
            wanted = self.whois_workers + HTTP_WORKERS

            def subscribed() -> bool:
                counts = dict(client.pubsub_numsub(PRELOAD_CHANNEL))
                return int(counts.get(PRELOAD_CHANNEL.encode(), 0)) >= wanted

            wait_for("IRRd workers on the preload channel", subscribed, timeout=120)
            client.publish(PRELOAD_CHANNEL, "reload")
        finally:
            client.close()
        time.sleep(1.2)  # the workers load their preloaded routes (measured: ~1 s)

    def reload(self, rpsl: str) -> None:
        """Replace the source's objects with ``rpsl`` while IRRd runs."""
        fixtures = self.root / "fixtures.rpsl"
        fixtures.write_text(rpsl)
        self.rpsl = rpsl
        self.serial += 1
        self._load(self.root / "irrd.yaml", fixtures)
        client = redis.Redis.from_url(self.redis.url)
        try:
            client.publish(PRELOAD_CHANNEL, "reload")
        finally:
            client.close()
        time.sleep(1.2)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            try:
                with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            finally:
                self.redis.close()
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def rpsl_object(kind: str, key: str, **attributes: str | list[str]) -> str:
    """One RPSL object; list values repeat the attribute."""
    lines = [f"{kind}: {key}"]
    for name, value in attributes.items():
        for v in value if isinstance(value, list) else [value]:
            lines.append(f"{name.replace('_', '-')}: {v}")
    lines.append(f"source: {SOURCE}")
    return "\n".join(lines) + "\n\n"
