"""Read a VRP file: the JSON an RTR validator serves (StayRTR's and rpki-client's format,
``{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": "AS64500"}, ...]}``, the ASN
also as a plain integer).

Defensive: an entry that is not a valid ROA (bad prefix, host bits set, maxLength outside
prefix length..32/128, ASN out of range) is skipped and counted, never fatal. A file that is
missing, unreadable or not such a JSON object gives None: the feature that needs it is
inactive, and the log says so once per change of the file's state.

``load`` keeps the last parse per path and re-reads the file only when its modification time
or size changed, so callers may ask on every reconciler pass.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ztix.domain.identifiers import ASN_MAX
from ztix.domain.rpki import Roa, by_asn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VrpData:
    roas: tuple[Roa, ...]
    skipped: int  # entries that were not valid ROAs
    by_asn: dict[int, tuple[Roa, ...]] = field(default_factory=dict, compare=False, repr=False)


def _asn(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text[:2].upper() == "AS":
            text = text[2:]
        if not text.isdigit():
            return None
        value = int(text)
    if isinstance(value, int) and 0 <= value <= ASN_MAX:
        return value
    return None


def _roa(entry: Any) -> Roa | None:
    if not isinstance(entry, dict):
        return None
    prefix_text, max_length, asn = entry.get("prefix"), entry.get("maxLength"), entry.get("asn")
    if not isinstance(prefix_text, str):
        return None
    try:
        prefix = ipaddress.ip_network(prefix_text.strip(), strict=True)
    except ValueError:
        return None
    if max_length is None:
        max_length = prefix.prefixlen
    if isinstance(max_length, bool) or not isinstance(max_length, int):
        return None
    if not prefix.prefixlen <= max_length <= prefix.max_prefixlen:
        return None
    origin = _asn(asn)
    if origin is None:
        return None
    return Roa(prefix, max_length, origin)


def parse(text: str) -> VrpData | None:
    """The ROAs of a VRP file's text; None when it is not a JSON object with a ``roas`` list."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("roas"), list):
        return None
    roas: list[Roa] = []
    skipped = 0
    for entry in document["roas"]:
        roa = _roa(entry)
        if roa is None:
            skipped += 1
        else:
            roas.append(roa)
    return VrpData(tuple(roas), skipped, by_asn(roas))


_lock = threading.Lock()
# path → ((mtime_ns, size) or None when unreadable, what load() returned for it)
_cache: dict[Path, tuple[tuple[int, int] | None, VrpData | None]] = {}


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def load(path: Path) -> VrpData | None:
    """The ROAs of the file at ``path`` (re-read when its mtime or size changed); None, with a
    warning logged once, when it is missing, unreadable or not a VRP file."""
    key = _stat(path)
    with _lock:
        cached = _cache.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    data: VrpData | None = None
    if key is None:
        log.warning("VRP file %s is missing: blackholes under a covering ROA are off", path)
    else:
        try:
            data = parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            log.warning(
                "VRP file %s is unreadable (%s): blackholes under a covering ROA are off", path, exc
            )
        else:
            if data is None:
                log.warning(
                    "VRP file %s is not a VRP JSON file: blackholes under a covering ROA are off",
                    path,
                )
            elif data.skipped:
                log.warning(
                    "VRP file %s: %d ROAs, %d bad entries skipped",
                    path,
                    len(data.roas),
                    data.skipped,
                )
            else:
                log.info("VRP file %s: %d ROAs", path, len(data.roas))
    with _lock:
        _cache[path] = (key, data)
    return data
