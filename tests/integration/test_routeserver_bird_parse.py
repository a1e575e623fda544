"""The rendered configuration parses with the installed BIRD (`bird -p`), from 1 to 2,000 members.

Each case renders into a temporary config_dir next to a minimal host bird.conf that includes
ztix.conf, exactly as on a route server. BIRD 2.0.12 (Debian 12) is the floor: whatever is
installed here must accept the output.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import routeserver_samples as samples
from tests.support.app import NWID, make_settings
from tests.support.birdlab import require_tools
from ztix.db.session import Database
from ztix.routeserver.model import DesiredConfig
from ztix.routeserver.peer_groups import member_at, member_section
from ztix.routeserver.render import peer_file, render, render_host_config
from ztix.workflow import routeserver_desired


def write(desired: DesiredConfig, directory: Path) -> Path:
    for name, text in render(desired).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    # BIRD refuses an include glob whose directory is missing; an empty one is fine.
    (directory / "peers").mkdir(exist_ok=True)
    host = directory / "bird.conf"
    host.write_text(render_host_config(desired.server))
    return host


def bird_parse(config: Path) -> float:
    require_tools()
    started = time.perf_counter()
    result = subprocess.run(
        ["bird", "-p", "-c", str(config)], capture_output=True, text=True, timeout=120, check=False
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, f"bird -p refused the rendered config:\n{result.stderr}"
    return elapsed


@pytest.mark.parametrize("count", [1, 10, 2000])
def test_members_parse(count: int, tmp_path: Path) -> None:
    started = time.perf_counter()
    desired = samples.members(count, str(tmp_path))
    host = write(desired, tmp_path)
    rendered = time.perf_counter() - started
    parsed = bird_parse(host)
    size = sum(p.stat().st_size for p in tmp_path.rglob("*.conf"))
    print(f"\n{count} members: render+write {rendered:.2f}s, bird -p {parsed:.2f}s, {size} bytes")


@pytest.mark.parametrize("case", ["basic", "asn32_tag", "minimal", "irr_tag", "features"])
def test_golden_cases_parse(case: str, tmp_path: Path) -> None:
    desired = getattr(samples, case)()
    desired = DesiredConfig(
        server=samples.server(
            str(tmp_path),
            **{
                f: getattr(desired.server, f)
                for f in (
                    "name",
                    "asn",
                    "validators",
                    "policy",
                    "never_via_route_servers",
                    "drained",
                    "blackholing",
                )
            },
        ),
        peers=desired.peers,
    )
    bird_parse(write(desired, tmp_path))


def test_no_members_parse(tmp_path: Path) -> None:
    bird_parse(write(DesiredConfig(samples.server(str(tmp_path)), ()), tmp_path))


def test_parse_detects_a_broken_file(tmp_path: Path) -> None:
    """The check above is real: a config BIRD cannot read fails it."""
    host = write(samples.members(1, str(tmp_path)), tmp_path)
    (tmp_path / "peers" / "broken.conf").write_text("protocol bgp {\n")
    with pytest.raises(AssertionError, match="refused"):
        bird_parse(host)


def test_a_missing_peers_directory_is_refused(tmp_path: Path) -> None:
    """Why render() always writes peers/00-ztix.conf: BIRD refuses the include of a
    missing directory, which a transport would otherwise never create for zero members."""
    host = write(DesiredConfig(samples.server(str(tmp_path)), ()), tmp_path)
    for leftover in (tmp_path / "peers").iterdir():
        leftover.unlink()
    (tmp_path / "peers").rmdir()
    with pytest.raises(AssertionError, match="Unable to match pattern"):
        bird_parse(host)


def _relative_tree(root: Path, config_dir: Path, base: Path, count: int) -> Path:
    """The route server's files as a host holds them, with relative includes: the host's
    bird.conf in ``base``, ZT-IX's set in ``config_dir``."""
    desired = samples.members(count, str(config_dir))
    desired = DesiredConfig(
        server=dataclasses.replace(desired.server, include_base=str(base)), peers=desired.peers
    )
    for name, text in render(desired).items():
        (config_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (config_dir / name).write_text(text)
    base.mkdir(parents=True, exist_ok=True)
    host = base / "bird.conf"
    host.write_text(render_host_config(desired.server))
    return host


@pytest.mark.parametrize(
    ("config_dir", "main_include"),
    [
        ("etc/bird/ztix/live", "ztix/live/ztix.conf"),  # under the bird.conf's directory
        ("srv/ztix/live", "../../srv/ztix/live/ztix.conf"),  # beside it
    ],
)
def test_relative_includes_parse_after_the_tree_moves(
    tmp_path: Path, config_dir: str, main_include: str
) -> None:
    """BIRD 2.0.12 resolves a relative include against the directory of the file holding
    it, not the working directory: the tree parses wherever it is moved, and the peers'
    files are really read (a broken one is refused at its moved path)."""
    first = tmp_path / "first"
    host = _relative_tree(first, first / config_dir, first / "etc" / "bird", 3)
    assert f'include "{main_include}";' in host.read_text()
    ztix_conf = (first / config_dir / "ztix.conf").read_text()
    assert 'include "peers/*.conf";' in ztix_conf
    assert str(tmp_path) not in host.read_text() + ztix_conf  # no absolute path left

    moved = tmp_path / "moved"
    shutil.move(first, moved)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    moved_host = moved / "etc" / "bird" / "bird.conf"
    args = ["bird", "-p", "-c", str(moved_host)]
    result = subprocess.run(args, capture_output=True, text=True, cwd=elsewhere, check=False)
    assert result.returncode == 0, result.stderr
    broken = moved / config_dir / "peers" / "zz-broken.conf"
    broken.write_text("this is not bird;\n")
    result = subprocess.run(args, capture_output=True, text=True, cwd=elsewhere, check=False)
    assert result.returncode != 0
    # BIRD names the file as it joined it: <including file's directory>/<include>.
    named = re.search(r"bird: (\S+):1:1 syntax error", result.stderr)
    assert named and os.path.normpath(named.group(1)) == str(broken), result.stderr


RS = {"name": "rs1", "transport": "local", "asn": 6695, "router_id": "192.0.2.1"}
RS |= {"network": NWID, "ipv4": "192.0.2.1", "ipv6": "2001:db8:ab::1"}


def test_the_setting_reaches_the_rendered_files(database: Database) -> None:
    settings = make_settings(
        database.url, routeservers={"servers": [{**RS, "include_base": "/etc/bird"}]}
    )
    with database.session() as db:
        desired, _ = routeserver_desired.build(db, settings, settings.routeservers.servers[0])
        db.rollback()
    assert desired.server.include_base == "/etc/bird"
    assert 'include "ztix/live/ztix.conf";' in render_host_config(desired.server)


def test_a_broken_member_is_found_from_birds_error_in_its_group_file(tmp_path: Path) -> None:
    """Members share group files: BIRD's `<file>:<line>:<column>` error still leads to the
    member, through the header line each member's section starts with."""
    desired = samples.members(300, str(tmp_path))
    host = write(desired, tmp_path)
    peer = desired.peers[201]
    path = tmp_path / peer_file(peer)
    text = path.read_text()
    section = member_section({peer_file(peer): text}, peer.protocol_base)
    assert section and section.count("\trs client;\n") == 2
    path.write_text(text.replace(section, section.replace("\trs client;\n", "\trs clients;\n")))
    result = subprocess.run(
        ["bird", "-p", "-c", str(host)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode != 0
    named = re.search(r"bird: (\S+):(\d+):\d+ ", result.stderr)
    assert named, result.stderr
    assert named.group(1) == str(path)
    assert member_at(path.read_text(), int(named.group(2))) == (peer.asn, peer.node_id)
