"""Apply a rendered file set to one route server, defensively (STYLE: IXP Manager).

The procedure, each step a :data:`~ztix.routeserver.transport.Stage`:

1. sanity: the set is non-empty, has ztix.conf, only plain relative paths;
2. unchanged? the deployed files equal the set and the last confirmed apply recorded its
   hash: report "unchanged" and touch nothing (no reconfigure). The deployed set's manifest
   (``manifest.py``: each file's hash, size and time) answers from one directory listing;
   without a manifest, or when a file's size or time changed, the files are read back;
3. upload the changed files to a staging directory, hard-link the unchanged ones from the
   running set, and swap it in as config_dir;
4. configure: ``birdc configure "<main>" timeout N`` must be accepted (0003/0004/0005),
   BIRD then reverts by itself unless confirmed within N s. There is no separate
   ``configure check``: BIRD parses the whole set before it changes anything, and refuses a
   set that does not parse (8002) while it keeps running the old one, so a check first
   would only double the parse (about half of an apply's time at 2,000 members);
5. verify: ``show status`` answers and every expected protocol is in ``show protocols``;
6. confirm: ``birdc configure confirm`` must answer ``0018 Reconfiguration confirmed``;
   then the set's hash is recorded next to config_dir.

Any failure after the swap rolls back: ``birdc configure undo`` when step 4 was accepted
(never otherwise: undo would revert the last *good* configure), then the previous files are
put back. The result names the host, the failed stage, birdc's exit status and BIRD's words.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from ztix.domain.routeserver import files_hash
from ztix.routeserver import manifest
from ztix.routeserver.transport import (
    BirdcReply,
    Deployment,
    RouteServerError,
    RouteServerTransport,
    Stage,
    excerpt,
    validate_file_set,
)

logger = logging.getLogger(__name__)

# BIRD's reply codes (doc/reply_codes; sysdep/unix/main.c cmd_reconfig_msg, cmd_check_config).
RECONFIGURED = 3
RECONFIGURATION_IN_PROGRESS = 4
RECONFIGURATION_QUEUED = 5
STATUS_REPORT = 13
QUEUED_CONFIG_REMOVED = 17
RECONFIGURATION_CONFIRMED = 18
NOTHING_TO_DO = 19
CONFIGURATION_OK = 20
PROTOCOL_LIST = 1002
PROTOCOL_HEADING = 2002
PROTOCOL_DETAILS = 1006

CONFIGURE_ACCEPTED = {RECONFIGURED, RECONFIGURATION_IN_PROGRESS, RECONFIGURATION_QUEUED}
# Undo answers "0021-Undo requested" then how it went; "Nothing to do" means BIRD's own
# timer has already reverted (or nothing was applied): the old config runs either way.
UNDO_DONE = CONFIGURE_ACCEPTED | {QUEUED_CONFIG_REMOVED, NOTHING_TO_DO}

_MISSING_SHOWN = 20


@dataclass(frozen=True)
class ApplyResult:
    ok: bool
    changed: bool  # a new set was swapped in and confirmed
    host: str
    stage: Stage | None = None  # where it failed
    exit_status: int | None = None  # birdc's, when a birdc step failed
    output_excerpt: str = ""  # what BIRD (or the transport) said
    detail: str = ""  # one sentence for people
    previous_hash: str | None = None  # the set deployed before, None when there was none
    applied_hash: str | None = None  # the set the server runs now; None: unknown
    rolled_back: bool | None = None  # after a failure past the swap: was everything undone?
    rollback_stage: Stage | None = None  # "undo" or "restore" when the rollback failed there
    duration: float = 0.0  # seconds

    @property
    def unchanged(self) -> bool:
        return self.ok and not self.changed


def _quoted(path: PurePosixPath | str) -> str:
    text = str(path)
    if not text.startswith("/") or any(c in text for c in '"\n\r\\'):
        raise RouteServerError("sanity", f"unusable main_config path {text!r}")
    return f'"{text}"'


def _expect(reply: BirdcReply, stage: Stage, wanted: set[int], what: str) -> BirdcReply:
    if reply.error or not (reply.codes & wanted):
        said = _first_complaint(reply)
        raise RouteServerError(
            stage,
            f"{what}: {said}" if said else what,
            exit_status=reply.exit_status,
            output=reply.message or reply.output,
        )
    return reply


def _first_complaint(reply: BirdcReply) -> str:
    """BIRD's error line (8xxx/9xxx), else birdc's own words, else the last reply line."""
    lines = [(code, text.strip()) for code, text in reply.lines if text.strip() and code != 1]
    for code, text in lines:
        if code >= 8000 or code == -1:
            return text[:300]
    return lines[-1][1][:300] if lines else ""


def apply(
    transport: RouteServerTransport,
    files: Mapping[str, str],
    expected_protocols: set[str],
    *,
    main_config: PurePosixPath | str,
    timeout_seconds: int,
) -> ApplyResult:
    """Put ``files`` in place on the route server and make BIRD run them, or leave it as it
    was. Never raises for a route-server failure: the result says what happened."""
    started = time.monotonic()
    host = transport.host

    def failed(
        exc: RouteServerError,
        previous_hash: str | None,
        applied_hash: str | None,
        rolled_back: bool | None = None,
        rollback_stage: Stage | None = None,
    ) -> ApplyResult:
        logger.warning("route server %s: apply failed at %s: %s", host, exc.stage, exc.message)
        return ApplyResult(
            ok=False,
            changed=False,
            host=host,
            stage=exc.stage,
            exit_status=exc.exit_status,
            output_excerpt=exc.output_excerpt,
            detail=exc.message,
            previous_hash=previous_hash,
            applied_hash=applied_hash,
            rolled_back=rolled_back,
            rollback_stage=rollback_stage,
            duration=time.monotonic() - started,
        )

    def succeeded(changed: bool, previous_hash: str | None) -> ApplyResult:
        state = "applied" if changed else "unchanged"
        logger.info("route server %s: configuration %s (%s)", host, state, new_hash)
        return ApplyResult(
            ok=True,
            changed=changed,
            host=host,
            detail=state,
            previous_hash=previous_hash,
            applied_hash=new_hash,
            duration=time.monotonic() - started,
        )

    new_hash = files_hash(files)
    previous_hash: str | None = None
    try:
        validate_file_set(files)
        main = _quoted(main_config)
        if timeout_seconds < 1:
            raise RouteServerError("sanity", "the configure timeout must be at least 1 s")
        known = manifest.plan(files, transport.list_deployed(), transport.read_manifest())
        if known.trusted:
            previous_hash, same, reuse = known.previous_hash, known.same, known.reuse
        else:  # no manifest, or files changed behind ZT-IX's back: read them all
            deployed = transport.read_deployed()
            previous_hash = files_hash(deployed) if deployed else None
            same, reuse = deployed == files, manifest.equal_content(files, deployed)
        if same and transport.read_applied_hash() == new_hash:
            return succeeded(False, previous_hash)
        deployment = transport.deploy(files, reuse)
    except RouteServerError as exc:
        # Nothing was swapped in: the server runs what it ran.
        return failed(exc, previous_hash, applied_hash=previous_hash)

    configured = False
    try:
        # One parse, not two: no `configure check` first. BIRD parses the new files before
        # it touches anything, and a set that does not parse is refused with 8002 while the
        # running configuration goes on (tests/routeserver_apply: the parse-error path).
        reply = transport.birdc("configure", main, "timeout", str(timeout_seconds))
        configured = not reply.error and bool(reply.codes & CONFIGURE_ACCEPTED)
        _expect(reply, "configure", CONFIGURE_ACCEPTED, "the configure was not accepted")
        _verify(transport, expected_protocols)
        _expect(
            transport.birdc("configure", "confirm"),
            "confirm",
            {RECONFIGURATION_CONFIRMED},
            "configure confirm was not acknowledged (BIRD's undo timer may have expired)",
        )
    except RouteServerError as exc:
        rollback_stage, note = _roll_back(transport, deployment, undo=configured)
        rolled_back = rollback_stage is None
        if note:
            exc.message = f"{exc.message}; rollback: {note}"
        applied = previous_hash if rolled_back else None
        return failed(exc, previous_hash, applied, rolled_back, rollback_stage)

    try:
        transport.record_applied_hash(new_hash)
    except RouteServerError as exc:
        # BIRD runs the new set; without the record the next sync reconfigures once more.
        logger.warning("route server %s: applied, but %s", host, exc.message)
    return succeeded(True, previous_hash)


def _verify(transport: RouteServerTransport, expected_protocols: set[str]) -> None:
    status = transport.birdc("show", "status")
    if status.error or STATUS_REPORT not in status.codes:
        raise RouteServerError(
            "verify",
            "BIRD did not answer show status after the configure",
            exit_status=status.exit_status,
            output=status.message or status.output,
        )
    if any("Shutdown" in text for text in status.text(STATUS_REPORT)):
        raise RouteServerError("verify", "BIRD is shutting down", output=status.message)
    listing = transport.birdc("show", "protocols")
    if listing.error:
        raise RouteServerError(
            "verify",
            "BIRD did not list its protocols",
            exit_status=listing.exit_status,
            output=listing.message or listing.output,
        )
    present = set(parse_protocol_names(listing))
    missing = sorted(expected_protocols - present)
    if missing:
        shown = ", ".join(missing[:_MISSING_SHOWN])
        more = f" and {len(missing) - _MISSING_SHOWN} more" if len(missing) > _MISSING_SHOWN else ""
        raise RouteServerError(
            "verify",
            f"{len(missing)} expected protocol(s) missing after the configure: {shown}{more}",
            output=listing.message,
        )


def _roll_back(
    transport: RouteServerTransport, deployment: Deployment, *, undo: bool
) -> tuple[Stage | None, str]:
    """Undo the configure (when it was accepted) and put the previous files back.
    Returns the first rollback step that failed (None: all done) and what went wrong."""
    problems: list[tuple[Stage, str]] = []
    if undo:
        try:
            reply = transport.birdc("configure", "undo")
            if reply.error or not (reply.codes & UNDO_DONE):
                problems.append(("undo", excerpt(reply.message or reply.output, 300)))
        except RouteServerError as exc:
            problems.append(("undo", exc.message))
        if problems:
            problems[-1] = (
                "undo",
                problems[-1][1] + " (BIRD reverts by itself when its configure timeout expires)",
            )
    try:
        transport.restore(deployment)
    except RouteServerError as exc:
        problems.append(("restore", exc.message))
    if not problems:
        return None, ""
    logger.error("route server %s: rollback incomplete: %s", transport.host, problems)
    return problems[0][0], "; ".join(f"{stage}: {text}" for stage, text in problems)


# --- session state ----------------------------------------------------------------------

_PROTOCOL_ROW = re.compile(
    r"^(?P<name>\S+)\s+(?P<proto>\S+)\s+(?P<table>\S+)\s+(?P<state>\S+)\s+"
    r"(?P<since>\d{4}-\d\d-\d\d(?: \d\d:\d\d:\d\d(?:\.\d+)?)?|\d\d:\d\d:\d\d(?:\.\d+)?|\S+)"
    r"\s*(?P<info>.*?)\s*$"
)
_ROUTE_COUNT = re.compile(r"(\d+) (imported|filtered|exported|preferred)")
_DETAIL = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z0-9 ]*?):\s+(?P<value>.*?)\s*$")
_CHANNEL = re.compile(r"^\s*Channel (?P<name>\S+)\s*$")


@dataclass
class ChannelState:
    name: str  # ipv4, ipv6, …
    state: str = ""  # UP, DOWN, …
    imported: int = 0
    filtered: int = 0
    exported: int = 0
    preferred: int = 0
    import_limit: int | None = None
    receive_limit: int | None = None
    # BIRD prints "[HIT]" after a limit while it is tripped (action warn or block; with
    # restart or disable the session goes down instead, see ProtocolState.last_error).
    import_limit_hit: bool = False
    receive_limit_hit: bool = False


@dataclass
class ProtocolState:
    name: str
    proto: str  # BGP, Static, RPKI, …
    table: str
    state: str  # up, down, start, stop
    since: str  # as BIRD prints it (its timeformat protocol)
    info: str  # e.g. Established, Passive, Error: …
    bgp_state: str | None = None
    neighbor_address: str | None = None
    neighbor_as: int | None = None
    last_error: str | None = None
    channels: dict[str, ChannelState] = field(default_factory=dict)
    # The server's clock when this was read ("Current server time" of show status).
    server_time: datetime | None = field(default=None, repr=False)

    @property
    def since_at(self) -> datetime | None:
        """``since`` as a naive, server-local time. BIRD's default prints only the time of
        day for the last 20 hours (placed on the server's clock) and a bare date before
        (None: too coarse); ``timeformat protocol iso long;`` prints both, always."""
        full = _parse_time(self.since, ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"))
        if full is not None or self.server_time is None:
            return full
        clock = _parse_time(self.since, ("%H:%M:%S.%f", "%H:%M:%S"))
        if clock is None:
            return None
        at = datetime.combine(self.server_time.date(), clock.time())
        return at - timedelta(days=1) if at > self.server_time else at

    @property
    def imported(self) -> int:
        return sum(c.imported for c in self.channels.values())

    @property
    def filtered(self) -> int:
        return sum(c.filtered for c in self.channels.values())

    @property
    def exported(self) -> int:
        return sum(c.exported for c in self.channels.values())


def _parse_time(text: str, forms: tuple[str, ...]) -> datetime | None:
    for form in forms:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None


def parse_server_time(reply: BirdcReply) -> datetime | None:
    """ "Current server time is …" from ``show status``."""
    for _, text in reply.lines:
        if text.startswith("Current server time is "):
            stamp = text.removeprefix("Current server time is ").strip()
            return _parse_time(stamp, ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"))
    return None


# A 1002 block (one protocol per line; ``show protocols all`` starts one per protocol):
# its first line's text and its continuation lines.
_PROTOCOL_BLOCK = re.compile(rf"\n{PROTOCOL_LIST:04d}-([^\n]*)((?:\n [^\n]*)*)")
_CONTINUED_NAME = re.compile(r"\n +(\S+)")


def parse_protocol_names(reply: BirdcReply) -> list[str]:
    """Protocol names from ``show protocols`` (or ``show protocols all``): the first word
    of every line of code 1002, read without splitting the whole listing into lines."""
    names = []
    for first, rest in _PROTOCOL_BLOCK.findall("\n" + reply.output):
        if first.strip():
            names.append(first.split()[0])
        names.extend(_CONTINUED_NAME.findall(rest))
    return names


def parse_protocols(
    reply: BirdcReply, server_time: datetime | None = None
) -> dict[str, ProtocolState]:
    """``show protocols all`` (BIRD 2.0.12 and later) into state per protocol."""
    protocols: dict[str, ProtocolState] = {}
    current: ProtocolState | None = None
    channel: ChannelState | None = None
    for code, text in reply.lines:
        if code == PROTOCOL_LIST:
            match = _PROTOCOL_ROW.match(text)
            if match is None:
                current = None
                continue
            row = match.groupdict()
            current = ProtocolState(
                name=row["name"],
                proto=row["proto"],
                table=row["table"],
                state=row["state"],
                since=row["since"],
                info=row["info"],
                server_time=server_time,
            )
            channel = None
            protocols[current.name] = current
        elif code == PROTOCOL_DETAILS and current is not None:
            channel = _parse_detail(current, channel, text)
    return protocols


def _parse_detail(
    protocol: ProtocolState, channel: ChannelState | None, text: str
) -> ChannelState | None:
    opened = _CHANNEL.match(text)
    if opened:
        channel = ChannelState(name=opened.group("name"))
        protocol.channels[channel.name] = channel
        return channel
    detail = _DETAIL.match(text)
    if detail is None:
        return channel
    key, value = detail.group("key"), detail.group("value")
    if channel is not None:
        if key == "State":
            channel.state = value
        elif key == "Routes":
            counts = {kind: int(n) for n, kind in _ROUTE_COUNT.findall(value)}
            channel.imported = counts.get("imported", 0)
            channel.filtered = counts.get("filtered", 0)
            channel.exported = counts.get("exported", 0)
            channel.preferred = counts.get("preferred", 0)
        elif key == "Import limit" and value.split()[0].isdigit():
            channel.import_limit = int(value.split()[0])
            channel.import_limit_hit = "[HIT]" in value
        elif key == "Receive limit" and value.split()[0].isdigit():
            channel.receive_limit = int(value.split()[0])
            channel.receive_limit_hit = "[HIT]" in value
        return channel
    if key == "BGP state":
        protocol.bgp_state = value
    elif key == "Neighbor address":
        protocol.neighbor_address = value
    elif key == "Neighbor AS" and value.isdigit():
        protocol.neighbor_as = int(value)
    elif key == "Last error":
        protocol.last_error = value
    return channel


def status(transport: RouteServerTransport) -> dict[str, ProtocolState]:
    """Session state of every protocol on the route server (``show protocols all``, and
    ``show status`` for the server's clock)."""
    clock = transport.birdc("show", "status")
    reply = transport.birdc("show", "protocols", "all")
    if reply.error or PROTOCOL_HEADING not in reply.codes:
        raise RouteServerError(
            "status",
            "BIRD did not list its protocols",
            host=transport.host,
            exit_status=reply.exit_status,
            output=reply.message or reply.output,
        )
    server_time = None if clock.error else parse_server_time(clock)
    return parse_protocols(reply, server_time)
