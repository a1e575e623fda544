"""Private PostgreSQL and Redis servers that a test may stop and start again.

The shared servers on 5432 and 6379 serve every test process and must keep running; these
run on their own loopback ports and data directories, owned by one test module. Ports are
picked below the kernel's ephemeral range, so no outgoing connection takes a port while
its server is down, and are checked free before use (pytest-xdist workers run side by
side).

PostgreSQL refuses to run as root: when the tests run as root (they do in CI), ``initdb``
and ``pg_ctl`` run as the ``postgres`` user on a data directory that user owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

# Below net.ipv4.ip_local_port_range (32768-60999 by default): bind(0) and outgoing
# connections never pick these.
PORT_RANGE = (20000, 32000)


def free_port() -> int:
    """A loopback TCP port nobody listens on now."""
    for _ in range(200):
        port = random.randrange(*PORT_RANGE)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {PORT_RANGE}")


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


def _pg_bin(name: str) -> str:
    found = [p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}") if p.is_file()]
    if found:  # Debian's layout: the newest major version
        return str(max(found, key=lambda p: [int(n) for n in re.findall(r"\d+", p.parts[-3])]))
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"PostgreSQL's {name} is missing: install the postgresql package "
            "(scripts/install-system-deps.sh)"
        )
    return path


class _Server:
    """A private server as a context manager: ``open()`` on entry (``close()`` if that
    fails), ``close()`` on exit, so nothing is left behind either way."""

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.open()
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


class PostgresServer(_Server):
    """A throw-away PostgreSQL cluster on 127.0.0.1:``port``, trust auth, no fsync.

    ``start()``/``stop()`` may be called again and again: the port and data stay.
    """

    def __init__(self, database: str = "ztix") -> None:
        self.database = database
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ztix-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [*self._as_postgres, *argv],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}"
            )

    def init(self) -> None:
        self._run(
            _pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        self._initialised = True

    def start(self, timeout: float = 30) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=30 -c shared_buffers=16MB"
        )
        self._run(
            _pg_bin("pg_ctl"),
            "start",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            str(int(timeout)),
            timeout=timeout + 5,
        )
        wait_for_port(self.port, timeout)

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def stop(self, mode: str = "fast") -> None:
        self._run(_pg_bin("pg_ctl"), "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "30")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def close(self) -> None:
        """Stop the server (immediately) and remove its files; safe to call twice."""
        try:
            if self._initialised and self.running():
                try:
                    self.stop("immediate")
                except (RuntimeError, subprocess.TimeoutExpired):
                    self._kill_postmaster()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)

    def open(self) -> None:
        self.init()
        _start_retrying(self)
        self.create_database()


class RedisServer(_Server):
    """A throw-away ``redis-server`` on 127.0.0.1:``port``, no persistence; with a
    ``password``, clients must AUTH (``requirepass``)."""

    def __init__(self, password: str | None = None) -> None:
        self.password = password
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ztix-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: run scripts/install-system-deps.sh")
        with (self.root / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.root),
                    "--daemonize",
                    "no",
                    *(["--requirepass", self.password] if self.password else []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            wait_for_port(self.port, timeout, self.proc)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGCONT)  # SIGTERM waits while the server is paused
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def pause(self) -> None:
        """Freeze the server: it keeps its port but answers nothing (SIGSTOP)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def open(self) -> None:
        _start_retrying(self)


def _start_retrying(server: PostgresServer | RedisServer, attempts: int = 3) -> None:
    """First start; on failure, on another port (another process may have taken it between
    the check and the bind)."""
    for attempt in range(attempts):
        try:
            server.start()
            return
        except (RuntimeError, TimeoutError):
            if attempt == attempts - 1:
                raise
            server.port = free_port()


@contextlib.contextmanager
def serving(app: Any, *, lifespan: bool = True) -> Iterator[str]:
    """``app`` under a real uvicorn (its own event loop and threadpool) on a free loopback
    port, in a thread of this process; yields its base URL. TestClient would serialise
    requests; this answers them as production does."""
    import threading

    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on" if lifespan else "off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
