"""The emulator's on-disk state (``FileDB``: ``controller.d``), its identity and token, and
the fault knobs.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path

from ztix.zerotier.emulator.records import (
    Json,
    json_int,
)

log = logging.getLogger(__name__)

# -- on-disk state (FileDB) -------------------------------------------------------------------


def _same_record(a: Json | None, b: Json) -> bool:
    """DB::_compareRecords: equal apart from ``revision``."""
    if a is None or len(a) != len(b):
        return False
    return all(k == "revision" or (k in b and b[k] == v) for k, v in a.items())


def dump(record: Json) -> str:
    # nlohmann::json keeps object keys sorted and dump() is compact.
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def copy_record(record: Json) -> Json:
    copied: Json = json.loads(dump(record))
    return copied


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(mode)
    tmp.replace(path)


class Store:
    """Networks and members in memory, mirrored to ``controller.d`` on every change."""

    def __init__(self, db_path: Path) -> None:
        self.networks_path = db_path / "network"
        self.networks: dict[str, Json] = {}
        self.members: dict[str, dict[str, Json]] = {}
        self.networks_path.mkdir(parents=True, exist_ok=True)
        (db_path / "trace").mkdir(exist_ok=True)
        self._load()

    def _load(self) -> None:
        for path in sorted(self.networks_path.iterdir()):
            if len(path.name) != 21 or not path.name.endswith(".json"):
                continue
            network = self._read(path)
            nwid = network.get("id") if network else None
            if not network or not isinstance(nwid, str) or len(nwid) != 16:
                continue
            self.networks[nwid] = network
            members = self.members.setdefault(nwid, {})
            member_dir = self.networks_path / nwid / "member"
            if not member_dir.is_dir():
                continue
            for mpath in sorted(member_dir.iterdir()):
                member = self._read(mpath) if len(mpath.name) == 15 else None
                mid = member.get("id") if member else None
                if member and isinstance(mid, str) and len(mid) == 10:
                    members[mid] = member

    @staticmethod
    def _read(path: Path) -> Json | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save_network(self, record: Json) -> None:
        nwid = record["id"]
        old = self.networks.get(nwid)
        if _same_record(old, record):
            return
        record["revision"] = json_int(record.get("revision"), 0) + 1
        write_atomic(self.networks_path / f"{nwid}.json", dump(record))
        self.networks[nwid] = record
        self.members.setdefault(nwid, {})

    def save_member(self, record: Json) -> None:
        nwid, mid = record["nwid"], record["id"]
        old = self.members.get(nwid, {}).get(mid)
        if _same_record(old, record):
            return
        record["revision"] = json_int(record.get("revision"), 0) + 1
        path = self.networks_path / nwid / "member" / f"{mid}.json"
        write_atomic(path, dump(record))
        self.members.setdefault(nwid, {})[mid] = record

    def erase_network(self, nwid: str) -> None:
        (self.networks_path / f"{nwid}.json").unlink(missing_ok=True)
        _remove_tree(self.networks_path / nwid)
        self.networks.pop(nwid, None)
        self.members.pop(nwid, None)

    def erase_member(self, nwid: str, mid: str) -> None:
        (self.networks_path / nwid / "member" / f"{mid}.json").unlink(missing_ok=True)
        self.members.get(nwid, {}).pop(mid, None)


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for child in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()


# -- identity and token ----------------------------------------------------------------------

_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


def _new_address() -> str:
    while True:
        address = secrets.token_hex(5)
        # Reserved by ZeroTier: 0000000000 and the ff prefix.
        if not address.startswith("ff") and address != "0000000000":
            return address


def load_identity(home: Path) -> str:
    public, secret = home / "identity.public", home / "identity.secret"
    if secret.exists():
        fields = secret.read_text(encoding="ascii").strip().split(":")
        if len(fields) != 4 or not re.fullmatch(r"[0-9a-f]{10}", fields[0]):
            raise ValueError(f"{secret} is not a ZeroTier identity")
        if not public.exists():
            write_atomic(public, ":".join(fields[:3]))
        return fields[0]
    address = _new_address()
    pub = f"{address}:0:{secrets.token_hex(64)}"
    write_atomic(secret, f"{pub}:{secrets.token_hex(64)}", mode=0o600)
    write_atomic(public, pub)
    return address


def load_token(home: Path, token: str | None) -> str:
    path = home / "authtoken.secret"
    if token is None and path.exists():
        token = path.read_text(encoding="utf-8").strip()
    if not token:
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(24))
    write_atomic(path, token, mode=0o600)
    return token


# -- fault knobs -----------------------------------------------------------------------------


@dataclass
class Faults:
    """What the emulator does wrong on purpose. Counters count down per request."""

    latency: float = 0.0  # seconds added before every answer
    error_status: int = 503
    error_count: int = 0  # the next N requests answer error_status
    timeout_count: int = 0  # the next N requests are held open, then closed unanswered
    hang_seconds: float = 30.0  # how long a "timeout" is held (released by stop())
    drop_count: int = 0  # the next N requests get a TCP reset instead of an answer
    alter_count: int = 0  # the next N member writes are altered after coercion
    alter_fields: Json = field(default_factory=dict)

    def take(self) -> str | None:
        for name in ("drop_count", "timeout_count", "error_count"):
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return name
        return None


FAULT_TYPES: dict[str, tuple[type, ...]] = {
    "latency": (int, float),
    "error_status": (int,),
    "error_count": (int,),
    "timeout_count": (int,),
    "hang_seconds": (int, float),
    "drop_count": (int,),
    "alter_count": (int,),
    "alter_fields": (dict,),
}
