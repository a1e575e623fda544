"""BIRD's control socket read by ``routeserver/control.py`` from a scripted server: a reply
that arrives a byte at a time, asynchronous lines, a server that closes early or never
answers. (A real BIRD's replies, beside birdc's: tests/integration/test_routeserver_apply.py.)"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ztix.routeserver import control
from ztix.routeserver.apply import parse_protocol_names
from ztix.routeserver.transport import BirdcReply

GREETING = b"0001 BIRD 2.0.12 ready.\n"


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ctl-", dir="/tmp") as name:
        yield Path(name)


def serve(path: Path, reply: bytes, *, chunk: int = 1 << 16, close: bool = True) -> list[bytes]:
    """A one-connection server on ``path``: greets, reads one command, sends ``reply`` in
    pieces of ``chunk`` bytes; returns (when done) the command it read."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    got: list[bytes] = []

    def run() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            connection.sendall(GREETING)
            line = b""
            while not line.endswith(b"\n"):
                line += connection.recv(1)
            got.append(line)
            for start in range(0, len(reply), chunk):
                connection.sendall(reply[start : start + chunk])
                if chunk < 8:
                    time.sleep(0.0005)
            if not close:
                time.sleep(2)

    threading.Thread(target=run, daemon=True).start()
    return got


def test_a_reply_a_byte_at_a_time_reads_as_birdc_prints_it(short_tmp: Path) -> None:
    path = short_tmp / "bird.ctl"
    reply = (
        b"2002-Name       Proto      Table      State  Since         Info\n"
        b"1002-device1    Device     ---        up     2026-12-07\n"
        b" AS1_a_v4      BGP        ---        start  2026-12-07  Idle\n"
        b"+Reconfiguration in progress\n"
        b"0000 \n"
    )
    got = serve(path, reply, chunk=3)
    answer = control.command(str(path), 'show protocols "AS*"', timeout=5)
    assert got == [b'show protocols "AS*"\n']
    assert answer.exit_status == 0
    assert answer.output == (
        "0001 BIRD 2.0.12 ready.\n"
        "2002-Name       Proto      Table      State  Since         Info\n"
        "1002-device1    Device     ---        up     2026-12-07\n"
        "     AS1_a_v4      BGP        ---        start  2026-12-07  Idle\n"
        ">>> Reconfiguration in progress\n"
    )
    assert [text.split()[0] for code, text in answer.lines if code == 1002] == [
        "device1",
        "AS1_a_v4",
    ]


@pytest.mark.parametrize(
    ("last", "status"),
    [(b"8001 Network not found\n", 1), (b"9001 syntax error\n", 1), (b"0019 Nothing to do\n", 0)],
)
def test_the_exit_status_is_birdcs(short_tmp: Path, last: bytes, status: int) -> None:
    path = short_tmp / "bird.ctl"
    serve(path, last)
    answer = control.command(str(path), "configure confirm", timeout=5)
    assert answer.exit_status == status
    assert answer.error is (status == 1)


def test_a_server_that_closes_before_its_reply_ends(short_tmp: Path) -> None:
    path = short_tmp / "bird.ctl"
    serve(path, b"0002-Reading configuration\n")
    answer = control.command(str(path), "configure", timeout=5)
    assert answer.exit_status == -1 and answer.error
    assert "0002-Reading configuration" in answer.output
    assert "lost BIRD's control socket" in answer.output


def test_a_server_that_never_ends_its_reply_times_out(short_tmp: Path) -> None:
    path = short_tmp / "bird.ctl"
    serve(path, b"0002-Reading configuration\n", close=False)
    started = time.monotonic()
    answer = control.command(str(path), "configure", timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert answer.exit_status == -1 and "no answer within 0.3 s" in answer.output


def _listing(protocols: int, *, all_: bool = False) -> str:
    lines = ["0001 BIRD 2.0.12 ready.", "2002-Name       Proto      Table      State  Since  Info"]
    for i in range(protocols):
        line = f"AS{i}_n_v4      BGP        ---        start  05:00  Idle"
        if all_ or i == 0:
            lines.append(f"1002-{line}")
            if all_:
                lines += ["1006-  Description:    x", "       BGP state:          Idle", ""]
        else:
            lines.append(f"     {line}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "output",
    [
        _listing(3),
        _listing(3, all_=True),
        _listing(0),
        "Unable to connect to server control socket (/x): No such file or directory\n",
        "0001 BIRD 2.0.12 ready.\n8001 Network not found\n",
        "  leading continuation\n0013 Daemon is up and running\n",
        "0001 BIRD 2.0.12 ready.\n>>> Reconfiguration in progress\n0003 Reconfigured\n",
        "",
    ],
)
def test_codes_and_protocol_names_read_as_the_lines_say(output: str) -> None:
    """``BirdcReply.codes`` and ``parse_protocol_names`` skip splitting a long listing into
    lines; they say what ``BirdcReply.lines`` says."""
    reply = BirdcReply(0, output)
    assert BirdcReply(0, output).codes == {code for code, _ in reply.lines}
    names = [text.split()[0] for code, text in reply.lines if code == 1002 and text.strip()]
    assert parse_protocol_names(reply) == names


def test_a_command_with_a_line_break_is_never_sent(short_tmp: Path) -> None:
    """One command per line: a line break in an argument would make a second command."""
    path = short_tmp / "bird.ctl"
    answer = control.command(str(path), "show route for 192.0.2.1\nconfigure undo", timeout=1)
    assert answer.exit_status == 1 and answer.error and "line break" in answer.output
