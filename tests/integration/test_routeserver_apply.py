"""Safe apply against a real BIRD 2, locally and over SSH to a real sshd.

The payloads are small hand-written ztix.conf/peers files (not the renderer's output): a
static protocol with two routes and a passive BGP session stand in for two members.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from pathlib import Path

import asyncssh
import pytest

from tests.support.routeserver_apply import (
    BIRDC,
    INITIAL_ZTIX_CONF,
    Bird,
    route_server_config,
    ssh_config,
)
from tests.support.services import free_port
from tests.support.sshd import SshServer
from ztix.routeserver.apply import ApplyResult, apply, files_hash, parse_protocols, status
from ztix.routeserver.connect import transport_for
from ztix.routeserver.local import LocalTransport
from ztix.routeserver.manifest import MANIFEST_FILE, FileStat, Manifest
from ztix.routeserver.ssh import PinnedHostKeys, SshTransport
from ztix.routeserver.transport import BirdcReply, Deployment, RouteServerTransport

STATIC = "AS64500_aaaaaaaaaa"
BGP = "AS64501_bbbbbbbbbb"
BOTH = {STATIC, BGP}


def payload(config_dir: Path, *, bgp: bool = True, broken: bool = False) -> dict[str, str]:
    files = {
        "ztix.conf": f'# ZT-IX main include\ninclude "{config_dir}/peers/*.conf";\n',
        f"peers/{STATIC}.conf": (
            f"protocol static {STATIC} {{\n  ipv4;\n"
            "  route 10.1.0.0/24 blackhole;\n  route 10.1.1.0/24 blackhole;\n}\n"
        ),
    }
    if bgp:
        files[f"peers/{BGP}.conf"] = (
            f"protocol bgp {BGP} {{\n"
            f"  local 127.0.0.1 port {free_port()} as 64999;\n"
            f"  neighbor 127.0.0.2 port {free_port()} as 64501;\n"
            "  multihop; passive on; rs client;\n"
            "  ipv4 { import keep filtered on; import limit 100 action restart;"
            " import all; export all; };\n}\n"
        )
    if broken:
        files["peers/AS64502_cccccccccc.conf"] = (
            "protocol static AS64502_cccccccccc { ipv4; route 10.2.0.0/24 nowhere; }\n"
        )
    return files


def run(
    transport: RouteServerTransport,
    bird: Bird,
    files: dict[str, str],
    *,
    expected: set[str] | None = None,
    timeout_seconds: int = 30,
) -> ApplyResult:
    """apply() with the protocols the payload defines as the expected ones."""
    if expected is None:
        expected = {name for name in BOTH if f"peers/{name}.conf" in files}
    return apply(
        transport,
        files,
        expected,
        main_config=str(bird.main_config),
        timeout_seconds=timeout_seconds,
    )


# --- the procedure ----------------------------------------------------------------------


def test_first_apply_swaps_configures_and_confirms(
    transport: RouteServerTransport, bird: Bird
) -> None:
    files = payload(bird.config_dir)
    result = run(transport, bird, files)

    assert result.ok and result.changed, result
    assert result.stage is None and result.host in ("localhost", "127.0.0.1")
    assert result.applied_hash == files_hash(files)
    assert result.previous_hash == files_hash({"ztix.conf": INITIAL_ZTIX_CONF})
    assert bird.deployed() == files
    assert bird.protocols() >= BOTH
    assert not bird.pending_undo()  # confirmed: BIRD's undo timer is off
    previous = bird.config_dir.with_name("live.previous")
    assert (previous / "ztix.conf").read_text() == INITIAL_ZTIX_CONF
    assert not bird.leftovers()
    assert transport.read_applied_hash() == files_hash(files)


def test_identical_reapply_does_not_reconfigure(
    transport: RouteServerTransport, bird: Bird
) -> None:
    files = payload(bird.config_dir)
    assert run(transport, bird, files).changed
    reconfigured = bird.last_reconfiguration()
    reconfigures_logged = bird.log.read_text().count("Reconfiguring")

    again = run(transport, bird, dict(files))

    assert again.ok and not again.changed and again.unchanged
    assert again.applied_hash == again.previous_hash == files_hash(files)
    assert not bird.reconfigured_since(reconfigured)
    assert bird.log.read_text().count("Reconfiguring") == reconfigures_logged


def test_a_set_that_does_not_parse_is_refused_by_the_one_configure(
    transport: RouteServerTransport, bird: Bird
) -> None:
    """Parse once: no `configure check` first. BIRD's timed configure refuses a set that
    does not parse (8002) and keeps running the old configuration; nothing to undo."""
    good = payload(bird.config_dir)
    assert run(transport, bird, good).ok
    reconfigured = bird.last_reconfiguration()
    birdc = Sabotage(transport, "nothing", None)

    bad = payload(bird.config_dir, broken=True)
    result = run(birdc, bird, bad)

    assert birdc.commands == [f'configure "{bird.main_config}" timeout 30']
    assert not result.ok and result.stage == "configure"
    assert result.exit_status == 1  # birdc says so for an 8xxx reply
    assert "8002" in result.output_excerpt and "AS64502_cccccccccc.conf:1:" in result.output_excerpt
    assert "syntax error" in result.output_excerpt
    assert result.rolled_back is True
    assert result.applied_hash == files_hash(good) == result.previous_hash
    assert bird.deployed() == good
    assert not bird.reconfigured_since(reconfigured)  # never configured
    assert not bird.pending_undo()  # nothing half-applied, no undo timer running
    assert bird.protocols() >= BOTH and "AS64502_cccccccccc" not in bird.protocols()
    failed = bird.config_dir.with_name("live.failed")
    assert (failed / "peers" / "AS64502_cccccccccc.conf").exists()  # kept for a look
    assert not bird.leftovers()
    assert transport.read_applied_hash() == files_hash(good)


def test_missing_protocol_fails_verify_and_is_undone(
    transport: RouteServerTransport, bird: Bird
) -> None:
    good = payload(bird.config_dir)
    assert run(transport, bird, good).ok

    without_bgp = payload(bird.config_dir, bgp=False)
    result = run(transport, bird, without_bgp, expected=BOTH)

    assert not result.ok and result.stage == "verify", result
    assert BGP in result.detail and "missing" in result.detail
    assert result.rolled_back is True
    assert bird.deployed() == good
    assert bird.protocols() >= BOTH  # BIRD undid: the BGP session is back
    assert not bird.pending_undo()
    assert "Undo requested" not in result.detail  # the rollback went quietly


def test_status_reads_sessions_and_routes(transport: RouteServerTransport, bird: Bird) -> None:
    assert run(transport, bird, payload(bird.config_dir)).ok

    sessions = status(transport)

    static = sessions[STATIC]
    assert (static.proto, static.state, static.table) == ("Static", "up", "master4")
    assert static.imported == 2 and static.exported == 0
    assert static.channels["ipv4"].state == "UP"
    bgp = sessions[BGP]
    assert bgp.proto == "BGP" and bgp.state == "start"
    assert bgp.bgp_state == "Passive" and bgp.info == "Passive"
    assert bgp.neighbor_address == "127.0.0.2" and bgp.neighbor_as == 64501
    assert bgp.channels["ipv4"].state == "DOWN"
    assert bgp.channels["ipv4"].import_limit == 100
    assert bgp.since  # BIRD's timeformat; a time of day by default
    assert bgp.since_at is not None  # placed on the server's clock
    assert abs((datetime.now() - bgp.since_at).total_seconds()) < 60
    assert "device1" in sessions


def test_a_lost_record_means_a_full_apply(transport: RouteServerTransport, bird: Bird) -> None:
    """Files in place but no record that BIRD confirmed them (a worker died mid-apply):
    the next apply with the same files reconfigures rather than trusting the disk."""
    files = payload(bird.config_dir)
    assert run(transport, bird, files).changed
    bird.config_dir.with_name("live.applied").unlink()

    again = run(transport, bird, files)

    assert again.ok and again.changed
    assert transport.read_applied_hash() == files_hash(files)


# --- incremental apply: only changed files are uploaded --------------------------------


def members(config_dir: Path, *names: str, edited: str = "") -> dict[str, str]:
    """ztix.conf and one static protocol per name (``edited``'s with another route)."""
    files = {"ztix.conf": f'# ZT-IX main include\ninclude "{config_dir}/peers/*.conf";\n'}
    for name in names:
        net = "10.9.9.0/24" if name == edited else f"10.{len(name)}.{ord(name[-1]) % 250}.0/24"
        files[f"peers/{name}.conf"] = (
            f"protocol static {name} {{\n  ipv4;\n  route {net} blackhole;\n}}\n"
        )
    return files


def inode(path: Path) -> int:
    return path.stat().st_ino


def test_only_changed_files_are_uploaded_and_removals_follow(
    transport: RouteServerTransport, bird: Bird
) -> None:
    keep, change, drop, add = "AS64510_a", "AS64511_b", "AS64512_c", "AS64513_d"
    first = members(bird.config_dir, keep, change, drop)
    assert run(transport, bird, first, expected={keep, change, drop}).changed
    live = bird.config_dir / "peers"
    kept_inode = inode(live / f"{keep}.conf")
    changed_inode = inode(live / f"{change}.conf")

    spy = Sabotage(transport, "nothing", None)
    second = members(bird.config_dir, keep, change, add, edited=change)
    result = run(spy, bird, second, expected={keep, change, add})

    assert result.ok and result.changed, result
    assert spy.reused == {"ztix.conf", f"peers/{keep}.conf"}  # known equal from the manifest
    assert bird.deployed() == second  # the removed member's file is gone
    assert bird.protocols() >= {keep, change, add} and drop not in bird.protocols()
    assert inode(live / f"{keep}.conf") == kept_inode  # linked, not uploaded again
    assert inode(live / f"{change}.conf") != changed_inode
    # The previous set is intact beside it, for a restore.
    previous = bird.config_dir.with_name("live.previous")
    assert (previous / "peers" / f"{change}.conf").read_text() == first[f"peers/{change}.conf"]
    assert (previous / "peers" / f"{drop}.conf").exists()
    recorded = transport.read_manifest()
    assert recorded is not None and recorded.set_hash == files_hash(second)
    assert set(recorded.files) == set(second)
    assert run(spy, bird, second, expected={keep, change, add}).unchanged


def test_a_failed_incremental_apply_restores_every_previous_file(
    transport: RouteServerTransport, bird: Bird
) -> None:
    good = members(bird.config_dir, "AS64510_a", "AS64511_b")
    assert run(transport, bird, good, expected={"AS64510_a", "AS64511_b"}).ok
    before = (bird.config_dir / MANIFEST_FILE).read_text()

    # One file changed, one removed, one added that BIRD refuses: nothing may stay.
    bad = members(bird.config_dir, "AS64510_a", edited="AS64510_a")
    bad["peers/AS64502_cccccccccc.conf"] = "protocol static AS64502_cccccccccc { nowhere }\n"
    result = run(transport, bird, bad, expected={"AS64510_a"})

    assert not result.ok and result.stage == "configure" and result.rolled_back is True
    assert bird.deployed() == good
    assert (bird.config_dir / MANIFEST_FILE).read_text() == before
    assert bird.protocols() >= {"AS64510_a", "AS64511_b"}
    assert run(transport, bird, good, expected={"AS64510_a", "AS64511_b"}).unchanged


def test_a_file_edited_on_the_server_is_not_trusted(
    transport: RouteServerTransport, bird: Bird
) -> None:
    """The manifest is trusted for a file only while its size and time are as recorded:
    a hand edit makes the next apply read the files back and upload the set again."""
    files = members(bird.config_dir, "AS64510_a", "AS64511_b")
    assert run(transport, bird, files, expected={"AS64510_a", "AS64511_b"}).changed
    edited = bird.config_dir / "peers" / "AS64511_b.conf"
    edited.write_text(edited.read_text() + "# edited by hand\n")

    spy = Sabotage(transport, "nothing", None)
    again = run(spy, bird, files, expected={"AS64510_a", "AS64511_b"})

    assert again.ok and again.changed  # not "unchanged": the disk differed from the set
    assert spy.reused == {"ztix.conf", "peers/AS64510_a.conf"}  # equal content, read back
    assert again.previous_hash != files_hash(files)
    assert bird.deployed() == files


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({}, "empty"),
        ({"peers/x.conf": "# no main\n"}, "no ztix.conf"),
        ({"ztix.conf": "", "../bird.conf": "# escape\n"}, "'../bird.conf'"),
        ({"ztix.conf": "", "/etc/passwd": "x"}, "'/etc/passwd'"),
    ],
)
def test_sanity_refuses_unusable_sets_before_touching_anything(
    transport: RouteServerTransport, bird: Bird, files: dict[str, str], reason: str
) -> None:
    before = bird.deployed()

    result = apply(transport, files, set(), main_config=str(bird.main_config), timeout_seconds=30)

    assert not result.ok and result.stage == "sanity" and reason in result.detail
    assert bird.deployed() == before and not bird.leftovers()


# --- rollback corner cases (local: they wrap the transport) -----------------------------


class Sabotage:
    """A transport that misbehaves at one birdc command, otherwise the real one."""

    def __init__(self, inner: RouteServerTransport, command: str, action: object) -> None:
        self.inner, self.command, self.action = inner, command, action
        self.commands: list[str] = []
        self.reused: set[str] | None = None

    @property
    def host(self) -> str:
        return self.inner.host

    def read_deployed(self) -> dict[str, str]:
        return self.inner.read_deployed()

    def list_deployed(self) -> dict[str, FileStat]:
        return self.inner.list_deployed()

    def read_manifest(self) -> Manifest | None:
        return self.inner.read_manifest()

    def read_applied_hash(self) -> str | None:
        return self.inner.read_applied_hash()

    def record_applied_hash(self, value: str) -> None:
        self.inner.record_applied_hash(value)

    def deploy(self, files: Mapping[str, str], reuse: Collection[str] = ()) -> Deployment:
        self.reused = set(reuse)
        return self.inner.deploy(files, reuse)

    def restore(self, deployment: Deployment) -> None:
        self.inner.restore(deployment)

    def birdc(self, *args: str) -> BirdcReply:
        line = " ".join(args)
        self.commands.append(line)
        if line.startswith(self.command) and callable(self.action):
            self.action()
        return self.inner.birdc(*args)

    def close(self) -> None:
        self.inner.close()


def test_a_refused_configure_is_not_undone(bird: Bird) -> None:
    """Undo after a configure BIRD refused would revert the last *good* configure."""
    local = LocalTransport.from_config(route_server_config(bird))
    good = payload(bird.config_dir)
    assert run(local, bird, good).ok

    def break_a_file() -> None:  # between the swap and the configure
        # Replaced, as every writer of the set does: unchanged files are hard links shared
        # with .previous, so an edit in place would reach the copy kept for the restore.
        broken = bird.config_dir / "ztix.conf.new"
        broken.write_text("this is not BIRD;\n")
        broken.replace(bird.config_dir / "ztix.conf")

    sabotage = Sabotage(local, f'configure "{bird.main_config}"', break_a_file)
    result = run(sabotage, bird, payload(bird.config_dir, bgp=False), expected={STATIC})

    assert not result.ok and result.stage == "configure" and "8002" in result.output_excerpt
    assert "configure undo" not in sabotage.commands
    assert result.rolled_back is True
    assert bird.deployed() == good and bird.protocols() >= BOTH


def test_confirm_after_birds_own_undo_fails_and_restores(bird: Bird) -> None:
    local = LocalTransport.from_config(route_server_config(bird))
    good = payload(bird.config_dir)
    assert run(local, bird, good).ok

    sabotage = Sabotage(local, "configure confirm", lambda: time.sleep(1.6))
    result = run(sabotage, bird, payload(bird.config_dir, bgp=False), timeout_seconds=1)

    assert not result.ok and result.stage == "confirm"
    assert "0019" in result.output_excerpt  # Nothing to do: the timer had already undone
    assert result.rolled_back is True  # undo answered "Nothing to do", which is fine
    assert bird.deployed() == good and bird.protocols() >= BOTH
    assert "Config timeout expired, starting undo" in bird.log.read_text()


def test_a_failed_undo_is_reported_and_the_files_still_restored(bird: Bird) -> None:
    local = LocalTransport.from_config(route_server_config(bird))
    good = payload(bird.config_dir)
    assert run(local, bird, good).ok

    def bird_dies() -> None:
        bird.process.terminate()
        bird.process.wait(timeout=5)

    sabotage = Sabotage(local, "configure undo", bird_dies)
    result = run(sabotage, bird, payload(bird.config_dir, bgp=False), expected=BOTH)

    assert not result.ok and result.stage == "verify"
    assert result.rolled_back is False and result.rollback_stage == "undo"
    assert "Unable to connect" in result.detail and "reverts by itself" in result.detail
    assert result.applied_hash is None  # unknown: BIRD may run either set
    assert bird.deployed() == good


def test_bird_not_running_fails_configure_and_restores(bird: Bird) -> None:
    local = LocalTransport.from_config(route_server_config(bird))
    bird.process.terminate()
    bird.process.wait(timeout=5)

    result = run(local, bird, payload(bird.config_dir))

    assert not result.ok and result.stage == "configure"
    assert result.exit_status == 1 and "Unable to connect" in result.output_excerpt
    assert bird.deployed() == {"ztix.conf": INITIAL_ZTIX_CONF}


@pytest.mark.parametrize(
    "args",
    [
        ("show", "symbols"),  # a long listing of continuation lines
        ("show", "protocols", "all", "device1"),  # blocks of two codes
        ("show", "route", "for", "203.0.113.1"),  # 8001, a run-time error
        ("show", "protocols", "nonexistent"),  # 9001, BIRD's parse error
        ("configure", "check"),  # 0002 then 0020
        ("configure", "confirm"),  # 0019, nothing to do
    ],
)
def test_the_local_transport_answers_as_birdc_does(bird: Bird, args: tuple[str, ...]) -> None:
    """The local transport speaks BIRD's control socket itself (``routeserver/control.py``),
    without a ``birdc`` process per command: every reply is what ``birdc -v`` prints for the
    same command, exit status included, so everything that reads replies reads both alike."""
    local = LocalTransport(bird.config_dir, birdc_socket=bird.socket)
    ours, birdc = local.birdc(*args), bird.birdc(*args)
    assert (ours.exit_status, ours.output) == (birdc.exit_status, birdc.output)
    assert ours.codes == birdc.codes and ours.lines == birdc.lines


def test_a_control_socket_nobody_listens_on_is_reported_as_birdc_does(bird: Bird) -> None:
    gone = bird.root / "gone.ctl"
    local = LocalTransport(bird.config_dir, birdc_socket=gone)
    birdc = subprocess.run(
        [BIRDC, "-v", "-s", str(gone), "show", "status"],
        capture_output=True,
        text=True,
        check=False,
    )
    reply = local.birdc("show", "status")
    assert (reply.exit_status, reply.output) == (birdc.returncode, birdc.stdout + birdc.stderr)

    result = run(local, bird, payload(bird.config_dir))

    assert not result.ok and result.stage == "configure" and result.exit_status == 1
    assert "Unable to connect" in result.output_excerpt
    assert bird.deployed() == {"ztix.conf": INITIAL_ZTIX_CONF}


# --- transport contract -----------------------------------------------------------------


@pytest.fixture(params=["local", "ssh"])
def fresh_transport(
    request: pytest.FixtureRequest, bird: Bird
) -> Iterator[tuple[RouteServerTransport, Path]]:
    """An adapter whose config_dir does not exist yet."""
    config_dir = bird.root / "fresh" / "ztix"
    config_dir.parent.mkdir()
    if request.param == "local":
        adapter: LocalTransport | SshTransport = LocalTransport(config_dir)
    else:
        sshd: SshServer = request.getfixturevalue("sshd")
        adapter = SshTransport(ssh_config(bird, sshd, config_dir=config_dir))
    try:
        yield adapter, config_dir
    finally:
        adapter.close()


def test_deploy_and_restore_round_trip(fresh_transport: tuple[RouteServerTransport, Path]) -> None:
    transport, config_dir = fresh_transport
    assert transport.read_deployed() == {}
    assert transport.read_applied_hash() is None

    first = {"ztix.conf": "# one\n", "peers/a.conf": "# a\n", "peers/deep/b.conf": "# ü\n"}
    deployment = transport.deploy(first)
    assert deployment.had_previous is False
    assert transport.read_deployed() == first
    assert oct((config_dir / "peers" / "a.conf").stat().st_mode & 0o777) == "0o640"
    # Restoring a first-ever deployment leaves no config_dir, as before it.
    transport.restore(deployment)
    assert transport.read_deployed() == {} and not config_dir.exists()

    transport.deploy(first)
    second = {"ztix.conf": "# two\n"}
    deployment = transport.deploy(second)
    assert deployment.had_previous is True
    assert transport.read_deployed() == second
    transport.restore(deployment)
    assert transport.read_deployed() == first
    assert (config_dir.with_name("ztix.failed") / "ztix.conf").read_text() == "# two\n"

    transport.record_applied_hash("abc123")
    assert transport.read_applied_hash() == "abc123"
    assert not list(config_dir.parent.glob("*.staging-*"))


def test_an_interrupted_swap_is_repaired_by_the_next_deploy(
    fresh_transport: tuple[RouteServerTransport, Path],
) -> None:
    transport, config_dir = fresh_transport
    transport.deploy({"ztix.conf": "# one\n"})
    transport.deploy({"ztix.conf": "# two\n"})
    # A crash between the two renames: config_dir gone, its predecessor in .previous.
    config_dir.rename(config_dir.with_name("ztix.gone"))

    deployment = transport.deploy({"ztix.conf": "# three\n"})

    assert deployment.had_previous is True
    assert (config_dir.with_name("ztix.previous") / "ztix.conf").read_text() == "# one\n"
    assert transport.read_deployed() == {"ztix.conf": "# three\n"}


def test_transport_for_picks_the_adapter(bird: Bird, sshd: SshServer) -> None:
    local = transport_for(route_server_config(bird))
    remote = transport_for(ssh_config(bird, sshd))
    try:
        assert isinstance(local, LocalTransport) and isinstance(remote, SshTransport)
    finally:
        local.close()
        remote.close()


# --- SSH failures -----------------------------------------------------------------------


def test_unreachable_host_fails_at_connect(bird: Bird, sshd: SshServer) -> None:
    closed = free_port()  # nothing listens there
    with SshTransport(ssh_config(bird, sshd, port=closed)) as transport:
        result = run(transport, bird, payload(bird.config_dir))

    assert not result.ok and result.stage == "connect"
    assert result.host == "127.0.0.1" and f"127.0.0.1:{closed}" in result.detail
    assert bird.deployed() == {"ztix.conf": INITIAL_ZTIX_CONF}


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts TCP connections and never says a word (a hung SSH server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_hung_server_times_out_at_connect(bird: Bird, sshd: SshServer, silent_port: int) -> None:
    config = ssh_config(bird, sshd, port=silent_port, ssh_timeout_seconds=0.5)
    started = time.monotonic()
    with SshTransport(config) as transport:
        result = run(transport, bird, payload(bird.config_dir))

    assert not result.ok and result.stage == "connect"
    assert time.monotonic() - started < 5


def _other_key_line(sshd: SshServer, algorithm: str) -> str:
    other = asyncssh.generate_private_key(algorithm)
    return f"[127.0.0.1]:{sshd.port} " + other.export_public_key().decode().strip()


@pytest.mark.parametrize("algorithm", ["ssh-ed25519", "ecdsa-sha2-nistp256"])
def test_host_key_mismatch_is_refused_before_anything_is_uploaded(
    bird: Bird, sshd: SshServer, algorithm: str
) -> None:
    config = ssh_config(bird, sshd, host_key=_other_key_line(sshd, algorithm))
    reconfigured = bird.last_reconfiguration()
    with SshTransport(config) as transport:
        result = run(transport, bird, payload(bird.config_dir))

    assert not result.ok and result.stage == "host_key", result
    assert "pinned" in result.detail
    assert bird.deployed() == {"ztix.conf": INITIAL_ZTIX_CONF}
    assert not bird.leftovers()
    assert not bird.reconfigured_since(reconfigured)


def test_an_unusable_host_key_line_is_a_host_key_failure(bird: Bird, sshd: SshServer) -> None:
    with SshTransport(ssh_config(bird, sshd, host_key="127.0.0.1 ssh-ed25519 notbase64")) as t:
        result = run(t, bird, payload(bird.config_dir))
    assert not result.ok and result.stage == "host_key"


def test_a_refused_client_key_fails_at_connect(bird: Bird, sshd: SshServer, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    with SshTransport(ssh_config(bird, sshd, private_key_file=stranger)) as transport:
        result = run(transport, bird, payload(bird.config_dir))
    assert not result.ok and result.stage == "connect" and "refused the SSH key" in result.detail


# --- parsing ----------------------------------------------------------------------------


def test_known_hosts_lines_pin_their_keys_whatever_the_host_field() -> None:
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    for line in (key, f"rs1.example.net {key}", f"|1|c2FsdA==|aGFzaA== {key}", f"[h]:2222 {key}"):
        pinned = PinnedHostKeys.parse(line)
        assert len(pinned.host_keys) == 1 and not pinned.ca_keys
    pinned = PinnedHostKeys.parse(f"# comment\n@cert-authority *.example.net {key}\n")
    assert len(pinned.ca_keys) == 1 and not pinned.host_keys
    for bad in ("", "rs1 ssh-ed25519", "@weird rs1 " + key, "rs1 ssh-ed25519 AAAAnotakey"):
        with pytest.raises(ValueError):
            PinnedHostKeys.parse(bad)


def test_protocol_rows_with_long_time_formats_parse() -> None:
    reply = BirdcReply(
        0,
        "0001 BIRD 2.0.12 ready.\n"
        "2002-Name       Proto      Table      State  Since         Info\n"
        "1002-AS64500_aaaaaaaaaa BGP        ---        up     2026-11-25 23:33:47  Established\n"
        "1006-  BGP state:          Established\n"
        "         Neighbor address: 192.0.2.10\n"
        "         Neighbor AS:      64500\n"
        "       Channel ipv4\n"
        "         State:          UP\n"
        "         Import limit:   120\n"
        "           Action:       restart\n"
        "         Routes:         5 imported, 2 filtered, 40 exported, 3 preferred\n"
        "     \n"
        "1002-rpki_a     RPKI       ---        up     2026-11-25    Established\n"
        "0000 \n",
    )
    sessions = parse_protocols(reply)
    peer = sessions["AS64500_aaaaaaaaaa"]
    assert peer.since == "2026-11-25 23:33:47" and peer.info == "Established"
    assert peer.since_at is not None and peer.since_at.minute == 33
    assert (peer.imported, peer.filtered, peer.exported) == (5, 2, 40)
    assert peer.channels["ipv4"].import_limit == 120
    assert sessions["rpki_a"].since == "2026-11-25" and sessions["rpki_a"].since_at is None


def test_a_time_of_day_is_placed_on_the_servers_clock() -> None:
    row = "1002-p1 Static master4 up {since}\n"
    late = datetime(2026, 11, 26, 0, 10, 0)
    for since, expected in (
        ("00:05:00.125", datetime(2026, 11, 26, 0, 5, 0, 125000)),
        ("23:50:00.000", datetime(2026, 11, 25, 23, 50)),  # before midnight: yesterday
    ):
        parsed = parse_protocols(BirdcReply(0, row.format(since=since)), late)["p1"]
        assert parsed.since_at == expected
    assert parse_protocols(BirdcReply(0, row.format(since="12:00:00")))["p1"].since_at is None
