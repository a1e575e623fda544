"""Benchmark: what BIRD 2 pays, at parse time, for each shape of a route-server configuration.

    uv run python -m bench.bird_shapes [--sizes 500,1000,2000] [--short]

The shared part (``ztix.conf``: communities, bogons, the import and export functions) is the
renderer's own; the peer files are written here in several shapes that filter alike, so
``bird -p -c bird.conf`` (median of 3) shows what each construct costs:

- ``define``: the old shape: per peer, three ``define`` sets (origin ASNs, IPv4 and IPv6
  prefixes), a named import filter per session using them, ``export where``;
- ``inline``: the same filter with the set literals written inside it (no ``define``);
- ``argument``: the named filter calls one shared function with the sets as arguments;
- ``function``: one filter *function* per session holding the literals, ``import where f()``;
- ``named-export``: ``inline`` plus one named export filter per session
  instead of ``export where``;
- ``no-irr``: no IRR data at all (IRR not checked): the cost of the sessions alone.

IRR data is realistic, not the placeholders: per member 1 to 50 IPv4 prefixes, 1 to 10
IPv6 prefixes, 1 to 5 origin ASNs, and every 250th member a large network with 3,000 IPv4
and 500 IPv6 prefixes and 300 origins (real AS-SETs of transit networks are that size).

This is a benchmark, not a test: nothing here runs under pytest.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import rows as bench_rows
from bench.common import command_line, install_sigterm_handler
from bench.routeservers import desired as bench_desired
from bench.routeservers import irr_data
from ztix.routeserver.model import Peer
from ztix.routeserver.render import MAIN_FILE, render, render_host_config

BIRD = shutil.which("bird") or "/usr/sbin/bird"
RENDERED = "where-argument"  # the shape the renderer writes
GOAL_MEMBERS = 2000  # P3's size


def irr_text(i: int, asn: int) -> tuple[list[str], list[str], list[int]]:
    v4, v6, origins = irr_data(i, asn)
    return [str(n) for n in v4], [str(n) for n in v6], sorted(set(origins))


def literal(values: list[str] | list[int], suffix: str = "") -> str:
    rows = [", ".join(f"{v}{suffix}" for v in values[k : k + 8]) for k in range(0, len(values), 8)]
    return "[\n\t" + ",\n\t".join(rows) + "\n]"


def session_lines(peer: Peer, af: int) -> tuple[str, str, str]:
    """(protocol name, peer IP, local IP) of one session."""
    base = peer.protocol_base
    peer_ip = peer.ipv4 if af == 4 else peer.ipv6
    local = "100.64.0.1" if af == 4 else "2001:db8:ab::1"
    return f"{base}_v{af}", str(peer_ip), local


def protocol(peer: Peer, af: int, import_clause: str, export_clause: str) -> str:
    name, peer_ip, local = session_lines(peer, af)
    return (
        f"protocol bgp {name} {{\n"
        f"\tlocal {local} as ZTIX_RS_ASN;\n\tneighbor {peer_ip} as {peer.asn};\n"
        "\trs client;\n\tinterpret communities off;\n"
        f"\tipv{af} {{\n\t\ttable ztix_rs{af};\n\t\timport limit 100 action restart;\n"
        "\t\timport keep filtered on;\n\t\timport table on;\n\t\trpki reload on;\n"
        f"\t\tsecondary;\n\t\t{import_clause}\n\t\t{export_clause}\n\t}};\n}}\n"
    )


def irr_checks(origins: str, prefixes: str) -> str:
    return (
        f"\tif !(bgp_path.last ~ {origins}) then ztix_reject(ZTIX_REJECT_ORIGIN_NOT_IN_IRR);\n"
        "\tbgp_large_community.add((ZTIX_RS_ASN, 1001, ZTIX_IRR_ORIGIN_IN_AS_SET));\n"
        f"\tif !(net ~ {prefixes}) then ztix_reject(ZTIX_REJECT_PREFIX_NOT_IN_IRR);\n"
        "\tbgp_large_community.add((ZTIX_RS_ASN, 1001, ZTIX_IRR_PREFIX_IN_AS_SET));\n"
    )


def peer_file(shape: str, i: int, peer: Peer) -> str:
    v4, v6, origins = irr_text(i, peer.asn)
    prefixes = {4: literal(v4, "+"), 6: literal(v6, "+")}
    base = peer.protocol_base
    out: list[str] = []
    if shape == "define":
        out.append(f"define ZTIX_IRR_ORIGINS_{base} = {literal(origins)};\n")
        for af in (4, 6):
            out.append(f"define ZTIX_IRR_PREFIXES_{base}_v{af} = {prefixes[af]};\n")
    for af in (4, 6):
        name, peer_ip, _ = session_lines(peer, af)
        head = f"\tztix_import_v{af}({peer.asn}, {peer_ip});\n"
        export = f"export where ztix_export({peer.asn});"
        if shape == "define":
            body = irr_checks(f"ZTIX_IRR_ORIGINS_{base}", f"ZTIX_IRR_PREFIXES_{base}_v{af}")
        elif shape == "argument":
            body = f"\tztix_irr({literal(origins)}, {prefixes[af]});\n"
        elif shape == "no-irr":
            body = ""
        else:
            body = irr_checks(literal(origins), prefixes[af])
        if shape == "anonymous":
            clause = f"import filter {{\n{head}{body}\taccept;\n\t\t}};"
            out.append(protocol(peer, af, clause, export))
            continue
        if shape == "where-argument":
            arguments = f"{peer.asn}, {peer_ip}, {literal(origins)}, {prefixes[af]}"
            clause = f"import where ztix_import_irr_v{af}({arguments});"
            out.append(protocol(peer, af, clause, export))
            continue
        if shape == "function":
            out.append(f"function ztix_import_{name}()\n{{\n{head}{body}\taccept;\n}}\n")
            out.append(protocol(peer, af, f"import where ztix_import_{name}();", export))
            continue
        out.append(f"filter ztix_import_{name}\n{{\n{head}{body}\taccept;\n}}\n")
        if shape == "named-export":
            out.append(
                f"filter ztix_export_{name}\n{{\n"
                f"\tif ztix_export({peer.asn}) then accept;\n\treject;\n}}\n"
            )
            export = f"export filter ztix_export_{name};"
        out.append(protocol(peer, af, f"import filter ztix_import_{name};", export))
    return "".join(out)


SHARED_IRR_FUNCTION = """
function ztix_irr(int set origins; prefix set prefixes)
{
\tif !(bgp_path.last ~ origins) then ztix_reject(ZTIX_REJECT_ORIGIN_NOT_IN_IRR);
\tbgp_large_community.add((ZTIX_RS_ASN, 1001, ZTIX_IRR_ORIGIN_IN_AS_SET));
\tif !(net ~ prefixes) then ztix_reject(ZTIX_REJECT_PREFIX_NOT_IN_IRR);
\tbgp_large_community.add((ZTIX_RS_ASN, 1001, ZTIX_IRR_PREFIX_IN_AS_SET));
}
""" + "".join(
    f"""
function ztix_import_irr_v{af}(int peer_as; ip peer_ip; int set origins; prefix set prefixes)
{{
\tztix_import_v{af}(peer_as, peer_ip);
\tztix_irr(origins, prefixes);
\treturn true;
}}
"""
    for af in (4, 6)
)

SHAPES = (
    "define",
    "inline",
    "argument",
    "anonymous",
    "where-argument",
    "function",
    "named-export",
    "no-irr",
)


def write_shape(root: Path, shape: str, members: int) -> Path:
    config_dir = root / "ztix"
    state = bench_desired(members, str(config_dir))
    main = render(state)[MAIN_FILE]
    main = (
        main.replace('include "', SHARED_IRR_FUNCTION + '\ninclude "', 1)
        if (shape in ("argument", "where-argument"))
        else main
    )
    (config_dir / "peers").mkdir(parents=True)
    (config_dir / MAIN_FILE).write_text(main)
    for i, peer in enumerate(state.peers):
        (config_dir / "peers" / f"{peer.protocol_base}.conf").write_text(peer_file(shape, i, peer))
    host = root / "bird.conf"
    host.write_text(render_host_config(state.server, log_file=str(root / "bird.log")))
    return host


def timed(run: Callable[[], subprocess.CompletedProcess[str]], times: int) -> tuple[float, str]:
    samples = []
    error = ""
    for _ in range(times):
        started = time.perf_counter()
        done = run()
        samples.append(time.perf_counter() - started)
        if done.returncode != 0:
            error = (done.stdout + done.stderr).strip()[:300]
            break
    return statistics.median(samples), error


@dataclass
class Row:
    shape: str
    members: int
    seconds: float
    megabytes: float
    error: str


def measure(shapes: tuple[str, ...], sizes: list[int], runs: int) -> list[Row]:
    rows = []
    for members in sizes:
        for shape in shapes:
            root = Path(tempfile.mkdtemp(prefix="rss-", dir="/tmp"))
            try:
                host = write_shape(root, shape, members)
                size = sum(p.stat().st_size for p in root.rglob("*.conf")) / 1e6
                seconds, error = timed(
                    lambda host=host: subprocess.run(  # type: ignore[misc]
                        [BIRD, "-p", "-c", str(host)], capture_output=True, text=True, check=False
                    ),
                    runs,
                )
            finally:
                shutil.rmtree(root, ignore_errors=True)
            rows.append(Row(shape, members, seconds, size, error))
            print(
                f"{shape:13} {members:5} {seconds * 1e3:8.0f} ms {size:6.1f} MB {error}", flush=True
            )
    return rows


def table(rows: list[Row], sizes: list[int], shapes: tuple[str, ...]) -> str:
    head = "| shape | " + " | ".join(f"{n:,} members" for n in sizes) + " |"
    lines = [head, "|---|" + "---:|" * len(sizes)]
    for shape in shapes:
        cells = []
        for n in sizes:
            row = next(r for r in rows if r.shape == shape and r.members == n)
            cell = "error" if row.error else f"{row.seconds * 1e3:,.0f} ms ({row.megabytes:.1f} MB)"
            cells.append(cell)
        lines.append(f"| `{shape}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def result_rows(rows: list[Row], command: str) -> list[bench_rows.Row]:
    """Each shape's `bird -p` time (info rows), except the rendered shape (`where-argument`)
    at 2,000 members or more: a goal row against P3's bound on BIRD's whole `configure` of
    2,000 members (1 s). A shape BIRD did not parse is a failed row."""
    found: list[bench_rows.Row] = []
    for r in rows:
        name = f"`bird -p`, shape `{r.shape}`, {r.members:,} members"
        figure = f"{r.seconds * 1e3:,.0f} ms ({r.megabytes:.1f} MB)"
        if r.error:
            found.append(bench_rows.failed("bird_shapes", name, r.error, command=command))
        elif r.shape == RENDERED and r.members >= GOAL_MEMBERS:
            found.append(
                bench_rows.at_most(
                    "bird_shapes", name + " (the rendered shape)", r.seconds, 1, "s",
                    command=command, measured=figure,
                )
            )  # fmt: skip
        else:
            found.append(bench_rows.info("bird_shapes", name, figure, command=command))
    return found


def main(argv: list[str] | None = None) -> list[bench_rows.Row]:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench.bird_shapes", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default="500,1000,2000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--short", action="store_true", help="2,000 members, old and new shape")
    args = parser.parse_args(argv)
    install_sigterm_handler()  # stopped by the runner: the temporary files still go
    sizes = [2000] if args.short else [int(s) for s in args.sizes.split(",")]
    shapes = ("define", RENDERED) if args.short else SHAPES
    rows = measure(shapes, sizes, 1 if args.short else args.runs)
    print(table(rows, sizes, shapes))
    return result_rows(rows, command_line("bird_shapes", argv))


if __name__ == "__main__":
    raise SystemExit(bench_rows.run(main))
