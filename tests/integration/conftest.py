"""Fixtures of the integration tier: real outside processes and servers.

The apply tests: a BIRD 2 per test, an OpenSSH server per session.

BIRD runs in the foreground (``bird -f``) with its own socket, pid file and log, and a
bird.conf that includes ``<config_dir>/ztix.conf`` as a route server's does. sshd listens on
127.0.0.1:<free port> with its own host key and one authorized test key; the SSH transport
logs in as the user running the tests (root here) and drives the same BIRD.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.routeserver_apply import (
    Bird,
    route_server_config,
    running_bird,
    ssh_config,
)
from tests.support.smtp import SmtpServer
from tests.support.sshd import SshServer, running_sshd
from tests.support.webhook_receiver import WebhookReceiver
from ztix.routeserver.local import LocalTransport
from ztix.routeserver.ssh import SshTransport
from ztix.routeserver.transport import RouteServerTransport


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short path: a Unix socket path must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="rs-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def bird(short_dir: Path) -> Iterator[Bird]:
    with running_bird(short_dir) as server:
        yield server


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(params=["local", "ssh"])
def transport(request: pytest.FixtureRequest, bird: Bird) -> Iterator[RouteServerTransport]:
    """Each adapter, driving the test's BIRD."""
    adapter: LocalTransport | SshTransport
    if request.param == "local":
        adapter = LocalTransport.from_config(route_server_config(bird))
    else:
        adapter = SshTransport(ssh_config(bird, request.getfixturevalue("sshd")))
    try:
        yield adapter
    finally:
        adapter.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()
