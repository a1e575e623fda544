"""A real OpenSSH server on 127.0.0.1 for tests: a generated host key (pinned by the
client) and one generated client key allowed in. Used by the route-server transport tests
and by the no-secrets test."""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from tests.support.services import free_port

SSHD = "/usr/sbin/sshd"  # sshd insists on being started by its absolute path


@dataclass
class SshServer:
    port: int
    user: str
    host_key_line: str  # "[127.0.0.1]:port ssh-ed25519 AAAA…", as ssh-keyscan prints it
    client_key_file: Path
    process: subprocess.Popen[bytes]

    @property
    def client_key_text(self) -> str:
        return self.client_key_file.read_text()


@contextmanager
def running_sshd(home: Path, *, comment: str = "ztix-test") -> Iterator[SshServer]:
    """sshd in the foreground with its files under ``home``; stopped on exit."""
    assert Path(SSHD).is_file(), f"{SSHD} is missing: install the Debian package openssh-server"
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    host_key_file = home / "ssh_host_ed25519_key"
    host_key.write_private_key(str(host_key_file))
    host_key_file.chmod(0o600)
    client_key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    client_key_file = home / "ztix_ed25519"
    client_key.write_private_key(str(client_key_file))
    client_key_file.chmod(0o600)
    (home / "authorized_keys").write_bytes(client_key.export_public_key())
    port = free_port()
    config = home / "sshd_config"
    config.write_text(
        "ListenAddress 127.0.0.1\n"
        f"Port {port}\n"
        f"HostKey {host_key_file}\n"
        f"PidFile {home / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {home / 'authorized_keys'}\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\n"
        "LogLevel ERROR\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"sshd exited: {stderr}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-2.0"):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "sshd did not start listening within 10 s"
            time.sleep(0.05)
        line = f"[127.0.0.1]:{port} " + host_key.export_public_key().decode().strip()
        yield SshServer(port, getpass.getuser(), line, client_key_file, process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
