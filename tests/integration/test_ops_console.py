"""`ztix serve` as a person meets it: a banner, then human log lines on a terminal and JSON
lines when standard error is not one (a pipe, a log shipper)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.support.cli import EXAMPLE, embedded_env
from tests.support.services import free_port

READY = "Application startup complete"


def _read_until(read: subprocess.Popen[bytes], fd: int, marker: str) -> str:
    output = b""
    deadline = time.monotonic() + 60
    while marker.encode() not in output and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the terminal closed: the process is gone
                break
            if not chunk:
                break
            output += chunk
        elif read.poll() is not None:
            break
    return output.decode(errors="replace").replace("\r\n", "\n")


def _processes_naming(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and proc.name.isdigit():
            found.append(f"{proc.name} {cmdline}")
    return found


def _serve(env: dict[str, str], *, terminal: bool) -> str:
    port = free_port()
    if terminal:
        main, side = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ztix.cli", "serve", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=side,
            stderr=side,
        )
        os.close(side)
    else:
        main, side = os.pipe()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ztix.cli", "serve", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=side,
            stderr=side,
        )
        os.close(side)
    try:
        output = _read_until(proc, main, READY)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        os.close(main)
    assert READY in output, output
    # Stopped by SIGTERM, serve stopped the embedded BIRD and StayRTR it had started.
    state_dir = env["ZTIX_ROUTESERVERS__EMBEDDED__STATE_DIR"]
    assert "embedded route server" in output and state_dir in output, output
    assert proc.returncode == 0
    assert not _processes_naming(state_dir)
    assert f"http://127.0.0.1:{port}/api/v1/docs" in output
    assert f"config file    {EXAMPLE.resolve()}" in output
    return output


def test_on_a_terminal_the_banner_names_the_admin_and_logs_are_text(tmp_path: Path) -> None:
    output = _serve(embedded_env(tmp_path), terminal=True)
    assert "one-time password is shown only here" in output
    assert "username: admin" in output and "password: " in output
    assert "Logs follow as text" in output
    line = next(x for x in output.splitlines() if READY in x)
    assert not line.lstrip().startswith("{"), line
    assert "INFO" in line and "uvicorn.error: Application startup complete" in line


def test_without_a_terminal_logs_are_json_and_a_second_start_shows_no_password(
    tmp_path: Path,
) -> None:
    env = embedded_env(tmp_path)
    first = _serve(env, terminal=False)
    assert "Logs follow as JSON lines" in first
    entry = json.loads(next(x for x in first.splitlines() if READY in x))
    assert entry["level"] == "INFO" and entry["logger"] == "uvicorn.error"
    again = _serve(env, terminal=False)
    assert "one-time password" not in again
    assert "username: " not in again
    assert "admin users    admin" in again


def test_the_format_can_be_chosen(tmp_path: Path) -> None:
    env = {**embedded_env(tmp_path), "ZTIX_LOGGING__FORMAT": "json"}
    output = _serve(env, terminal=True)
    json.loads(next(x for x in output.splitlines() if READY in x))
