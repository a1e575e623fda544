"""``ztix lab up | down | status``: build the lab, tear it down, say how it is.

``up`` is safe to run twice: a lab that is up is only reported; a half-built one (a failed
or interrupted run) is removed first. Everything it starts is written to ``state.json`` as
it goes, so ``down`` ends exactly those processes, deletes the namespaces with the lab's
prefix and removes the lab's directory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ztix.lab import files, netns, summary
from ztix.lab.client import ApiSession, network_id, wait_until
from ztix.lab.netns import LabError
from ztix.lab.plan import RS_ASN, Member, Plan

Echo = Callable[[str], None]
NETWORK_NAME = "ZT-IX Lab"


@dataclass
class State:
    """What a lab started and made: written to <root>/state.json at every step."""

    path: Path
    pids: list[int] = field(default_factory=list)  # BIRDs and StayRTRs
    serve_pid: int | None = None  # `ztix serve`, leader of its process group
    passwords: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)  # member name -> request ID
    complete: bool = False

    @classmethod
    def load(cls, path: Path) -> State | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls(path=path, **data)

    def save(self) -> None:
        data = {
            "pids": self.pids,
            "serve_pid": self.serve_pid,
            "passwords": self.passwords,
            "requests": self.requests,
            "complete": self.complete,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
        temporary.chmod(0o600)  # the lab's passwords
        temporary.replace(self.path)


def state_path(plan: Plan) -> Path:
    return plan.root / "state.json"


def require() -> None:
    """Root (namespaces) and the programs; one sentence naming what is missing."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root: network namespaces (run `sudo make lab`)")
    missing = [
        name
        for name, path in (
            ("bird (bird2)", files.BIRD),
            ("birdc (bird2)", files.BIRDC),
            ("stayrtr", files.STAYRTR),
        )
        if not Path(path).is_file()
    ]
    if shutil.which("ip") is None:
        missing.append("ip (iproute2)")
    if missing:
        raise LabError(
            f"missing: {', '.join(missing)}; scripts/install-system-deps.sh installs them"
        )


def is_up(plan: Plan) -> bool:
    state = State.load(state_path(plan))
    if state is None or not state.complete or state.serve_pid is None:
        return False
    namespaces = set(netns.namespaces(plan.prefix))
    expected = {_ns(plan, "lan")} | {_ns(plan, rs.name) for rs in plan.servers}
    return (
        expected <= namespaces
        and netns.alive(state.serve_pid)
        and all(netns.alive(p) for p in state.pids)
    )


def _ns(plan: Plan, role: str) -> str:
    return f"{plan.prefix}-{role}"


def up(plan: Plan, echo: Echo, *, timeout: float = 110) -> State:
    """Build the lab (or report the one that is up); the state of what runs."""
    require()
    if is_up(plan):
        echo(f"the lab is already up ({plan.root}); `make lab-down` removes it")
        state = State.load(state_path(plan))
        assert state is not None
        return state
    if plan.root.exists() or netns.namespaces(plan.prefix):
        echo("removing what an earlier lab left")
        down(plan, lambda _line: None)
    started = time.monotonic()
    plan.root.mkdir(parents=True)
    state = State(state_path(plan))
    state.save()

    def timed(line: str) -> None:
        echo(f"[{time.monotonic() - started:5.1f} s] {line}")

    try:
        _build(plan, state, timed, started + timeout)
    except BaseException:
        echo(f"the lab did not come up; logs in {plan.root} (`make lab-down` removes it)")
        raise
    state.complete = True
    state.save()
    echo(f"lab up in {time.monotonic() - started:.0f} s")
    return state


def _build(plan: Plan, state: State, echo: Echo, deadline: float) -> None:
    roas = files.write_roas(plan)
    config = files.write_ztix_config(plan)
    lan = _ns(plan, "lan")
    netns.add_namespace(lan)
    netns.bridge(lan)
    link = 0
    for rs in plan.servers:
        main = files.write_server(plan, rs)
        home = files.server_dir(plan, rs)
        ns = _ns(plan, rs.name)
        netns.add_namespace(ns)
        link += 1
        netns.attach(plan.prefix, link, lan, ns, [f"{rs.ipv4}/24", f"{rs.ipv6}/64"])
        rtr = [
            files.STAYRTR,
            "-bind",
            f"127.0.0.1:{plan.rtr_port}",
            "-cache",
            str(roas),
            "-checktime=false",
            "-refresh",
            "10",
            "-metrics.addr",
            "127.0.0.1:0",
        ]
        state.pids.append(netns.spawn(rtr, home / "stayrtr.log", namespace=ns))
        state.pids.append(_bird(main, home, ns))
        state.save()
    echo(f"route servers {', '.join(rs.name for rs in plan.servers)} running (BIRD + StayRTR)")

    serve = [sys.executable, "-m", "ztix.cli", "serve", "--config", str(config)]
    state.serve_pid = netns.spawn(serve, plan.root / "ztix.log", new_session=True)
    state.save()
    _wait_http(plan, state.serve_pid, deadline)
    echo(f"ZT-IX serving {plan.url} (log: {plan.root / 'ztix.log'})")

    state.passwords.update(_create_users(plan, config))
    state.save()
    echo(f"accounts {', '.join(state.passwords)} created (passwords in {state.path})")
    _file_and_approve(plan, state, echo, deadline)
    _start_members(plan, state, link, deadline)
    echo("member routers running; waiting for every session to be Established")
    wait_until(
        "every BGP session Established",
        lambda: all(s.established for v in views(plan) for s in v.sessions),
        max(1.0, deadline - time.monotonic()),
    )


def _bird(main: Path, home: Path, ns: str) -> int:
    check = netns.run(files.BIRD, "-p", "-c", str(main), check=False)
    if check.returncode != 0:
        raise LabError(f"bird -p refused {main}: {check.stderr.strip()}")
    socket = home / "bird.ctl"
    argv = [files.BIRD, "-f", "-c", str(main), "-s", str(socket), "-P", str(home / "bird.pid")]
    pid = netns.spawn(argv, home / "bird.out", namespace=ns)
    wait_until(
        f"BIRD to answer on {socket}",
        lambda: bool(summary.birdc(files.BIRDC, socket, "show", "status")),
        15,
        every=0.1,
    )
    return pid


def _wait_http(plan: Plan, pid: int, deadline: float) -> None:
    def answers() -> bool:
        if not netns.alive(pid):
            log = (plan.root / "ztix.log").read_text(encoding="utf-8", errors="replace")
            raise LabError("ztix serve exited:\n" + "\n".join(log.splitlines()[-15:]))
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{plan.url}/healthz", timeout=2).status_code == 200
        return False

    wait_until(f"ZT-IX on {plan.url}", answers, max(1.0, deadline - time.monotonic()), 0.2)


def _create_users(plan: Plan, config: Path) -> dict[str, str]:
    """The lab's local accounts, made as `ztix users create` makes them: an admin, and one
    operator per member holding its ASN. Their passwords, by username."""
    from ztix.config import load_settings
    from ztix.db.session import Database
    from ztix.workflow import audit, users

    passwords: dict[str, str] = {}
    database = Database(load_settings(config).database_url)
    try:
        with database.session() as db:
            accounts: list[tuple[str, bool, list[int], str]] = [
                (plan.admin_username, True, [], "Lab admin")
            ]
            accounts += [(m.username, False, [m.asn], f"NOC of {m.name}") for m in plan.members]
            for username, admin, asns, display_name in accounts:
                passwords[username] = secrets.token_urlsafe(12)
                users.create_local_user(
                    db,
                    audit.CLI,
                    username=username,
                    password=passwords[username],
                    admin=admin,
                    asns=asns,
                    display_name=display_name,
                )
    finally:
        database.dispose()
    return passwords


def _file_and_approve(plan: Plan, state: State, echo: Echo, deadline: float) -> None:
    """Each member's operator logs in and asks to join; the admin approves every request."""
    for member in plan.members:
        with ApiSession(plan.url, member.username, state.passwords[member.username]) as noc:
            nwid = network_id(noc, NETWORK_NAME)
            body = {
                "asn": member.asn,
                "zt_network_id": nwid,
                "node_id": member.node_id,
                "notes": f"make lab: {member.name}'s router",
            }
            state.requests[member.name] = str(noc.post("/api/v1/requests", body)["id"])
    state.save()
    admin_password = state.passwords[plan.admin_username]
    with ApiSession(plan.url, plan.admin_username, admin_password) as admin:
        for name, request_id in state.requests.items():
            admin.post(f"/api/v1/admin/requests/{request_id}/approve")
            echo(f"  {name}: request filed by its operator, approved by {plan.admin_username}")


def addresses(plan: Plan, state: State, member: Member) -> tuple[str, str | None] | None:
    """The member's peering-LAN addresses once ZT-IX has assigned them."""
    with ApiSession(plan.url, member.username, state.passwords[member.username]) as noc:
        request = noc.get(f"/api/v1/requests/{state.requests[member.name]}")
    membership = request.get("membership") or {}
    if not membership.get("ipv4"):
        return None
    return str(membership["ipv4"]), membership.get("ipv6")


def _start_members(plan: Plan, state: State, link: int, deadline: float) -> None:
    lan = _ns(plan, "lan")
    for member in plan.members:
        found = wait_until(
            f"{member.name}'s peering-LAN addresses",
            lambda m=member: addresses(plan, state, m),  # type: ignore[misc]
            max(1.0, deadline - time.monotonic()),
        )
        ipv4, ipv6 = found
        home = files.member_dir(plan, member)
        home.mkdir(parents=True, exist_ok=True)
        ns = _ns(plan, member.name)
        netns.add_namespace(ns)
        link += 1
        netns.attach(plan.prefix, link, lan, ns, [f"{ipv4}/24"] + ([f"{ipv6}/64"] if ipv6 else []))
        main = home / "bird.conf"
        main.write_text(
            files.member_bird_conf(
                plan,
                member,
                ipaddress.IPv4Address(ipv4),
                ipaddress.IPv6Address(ipv6) if ipv6 else None,
            ),
            encoding="utf-8",
        )
        state.pids.append(_bird(main, home, ns))
        state.save()


def _member_protocols(member: Member) -> list[str]:
    return [f"AS{member.asn}_{member.node_id.lower()}_v{f}" for f in (4, 6)]


def views(plan: Plan) -> list[summary.MemberView]:
    """Every member as the route servers see it (birdc on each server's socket)."""
    out = []
    for member in plan.members:
        view = summary.MemberView(member.asn, member.name)
        for rs in plan.servers:
            socket = files.server_dir(plan, rs) / "bird.ctl"
            for protocol in _member_protocols(member):
                session = summary.protocol_state(files.BIRDC, socket, protocol)
                if not session.state and protocol.endswith("_v6"):
                    continue  # no IPv6 session (no IPv6 address)
                session.server = rs.name
                view.sessions.append(session)
                if rs is plan.servers[0]:
                    view.refused.update(
                        summary.refused_routes(files.BIRDC, socket, protocol, RS_ASN)
                    )
        out.append(view)
    return out


def report(plan: Plan, echo: Echo) -> None:
    """Sessions up, routes accepted and filtered per member, and where to look."""
    state = State.load(state_path(plan))
    if state is None:
        echo("no lab (`make lab` builds one)")
        return
    for view in views(plan):
        up_count = sum(1 for s in view.sessions if s.established)
        accepted = sum(s.accepted for s in view.sessions if s.server == plan.servers[0].name)
        filtered = sum(s.filtered for s in view.sessions if s.server == plan.servers[0].name)
        echo(
            f"AS{view.asn} {view.name}: {up_count}/{len(view.sessions)} sessions Established; "
            f"on {plan.servers[0].name} {accepted} routes accepted, {filtered} filtered"
        )
        for prefix, reason in sorted(view.refused.items()):
            echo(f"    filtered {prefix}: {reason}")
    echo(f"open {plan.url}")
    for username, password in state.passwords.items():
        echo(f"  log in as {username} / {password}")


def down(plan: Plan, echo: Echo) -> None:
    """End the lab's processes, delete its namespaces and its directory."""
    state = State.load(state_path(plan))
    if state is not None:
        if state.serve_pid is not None:
            netns.stop([state.serve_pid], group=True, timeout=15)
        netns.stop(state.pids)
    gone = netns.remove_namespaces(plan.prefix)
    if plan.root.exists():
        shutil.rmtree(plan.root)
    echo(f"lab removed ({len(gone)} namespaces, {plan.root})" if gone or state else "no lab")
