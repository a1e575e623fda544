"""The rendered configuration parses with the installed BIRD (`bird -p`), from 1 to 2,000 members.

Each case renders into a temporary config_dir next to a minimal host bird.conf that includes
ztix.conf, exactly as on a route server. BIRD 2.0.12 (Debian 12) is the floor: whatever is
installed here must accept the output.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support import routeserver_samples as samples
from tests.support.birdlab import require_tools
from ztix.routeserver.model import DesiredConfig
from ztix.routeserver.render import render, render_host_config


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
