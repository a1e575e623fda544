"""What is deployed on a route server, per file, without reading every file back.

Every deploy writes ``.ztix-manifest.json`` into the new set: for each file its sha256, size
and modification time (whole seconds: what SFTP reports), and the set's hash. It is swapped
in, and restored, with the files it describes. BIRD never reads it: ``ztix.conf`` includes
only ``peers/*.conf``, and a rendered set has no dot-file (``validate_file_set``).

The next apply lists the deployed files with their size and time (one directory listing,
also over SFTP) and trusts a file's recorded hash only while both still match, as rsync's
quick check does. So an apply knows which files changed without reading them, uploads only
those and hard-links the others from the running set into the new one; a file edited on
the server (its size or time changed) is not trusted and is uploaded again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from ztix.routeserver.model import files_hash

MANIFEST_FILE = ".ztix-manifest.json"
_VERSION = 1


@dataclass(frozen=True)
class FileStat:
    """A deployed file's size in bytes and modification time in whole seconds."""

    size: int
    mtime: int


@dataclass(frozen=True)
class Manifest:
    set_hash: str  # files_hash of the set
    files: dict[str, tuple[str, FileStat]]  # path: (sha256 of the content, stat when written)

    def to_text(self) -> str:
        body = {
            "version": _VERSION,
            "set_hash": self.set_hash,
            "files": {
                path: [digest, stat.size, stat.mtime]
                for path, (digest, stat) in sorted(self.files.items())
            },
        }
        # No indent: json's C encoder writes it (with an indent, its Python one: 50 ms at
        # 2,000 files).
        return json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n"

    @classmethod
    def parse(cls, text: str) -> Manifest | None:
        """The manifest, or None when it is not one this version wrote (then nothing is
        trusted and the applier reads the deployed files instead)."""
        try:
            body = json.loads(text)
            if body.get("version") != _VERSION or not isinstance(body.get("set_hash"), str):
                return None
            files = {
                str(path): (str(digest), FileStat(int(size), int(mtime)))
                for path, (digest, size, mtime) in body["files"].items()
            }
        except (ValueError, TypeError, AttributeError, KeyError):
            return None
        return cls(set_hash=body["set_hash"], files=files)


# The digests of recently seen file contents. An apply digests every file of the new set
# twice (planning, then the manifest), and most files are the same text as the last apply's
# (the render cache hands out the same strings): a dict lookup instead of a sha256. Bounded
# by the characters it holds.
_DIGESTS_MAX_CHARS = 64 * 2**20
_digests: dict[str, str] = {}
_digests_chars = 0
_digests_lock = threading.Lock()


def digest(content: str) -> str:
    """The sha256 of a file's text (hex)."""
    global _digests_chars
    known = _digests.get(content)
    if known is not None:
        return known
    value = hashlib.sha256(content.encode()).hexdigest()
    with _digests_lock:
        if _digests_chars + len(content) > _DIGESTS_MAX_CHARS:
            _digests.clear()
            _digests_chars = 0
        if content not in _digests:
            _digests[content] = value
            _digests_chars += len(content)
    return value


def build(files: Mapping[str, str], stats: Mapping[str, FileStat]) -> Manifest:
    """The manifest of ``files`` as written, ``stats`` read back from the staging copy."""
    return Manifest(
        set_hash=files_hash(files),
        files={path: (digest(content), stats[path]) for path, content in files.items()},
    )


@dataclass(frozen=True)
class Plan:
    """What an apply knows about the deployed set from the manifest and a listing."""

    trusted: bool  # every deployed file is in the manifest with its recorded size and time
    previous_hash: str | None  # the deployed set's hash, when trusted (None: nothing deployed)
    same: bool  # trusted, and the deployed set is exactly the new one
    reuse: frozenset[str]  # new files whose deployed copy is known equal: link, not upload


def plan(
    files: Mapping[str, str],
    listing: Mapping[str, FileStat],
    manifest: Manifest | None,
) -> Plan:
    """Compare the new ``files`` with what ``listing`` and ``manifest`` say is deployed."""
    if not listing:
        return Plan(trusted=True, previous_hash=None, same=False, reuse=frozenset())
    if manifest is None:
        return Plan(trusted=False, previous_hash=None, same=False, reuse=frozenset())
    known = {
        path: recorded
        for path, (recorded, stat) in manifest.files.items()
        if listing.get(path) == stat
    }
    trusted = set(known) == set(listing) == set(manifest.files)
    wanted = {path: digest(content) for path, content in files.items()}
    reuse = frozenset(path for path, value in wanted.items() if known.get(path) == value)
    return Plan(
        trusted=trusted,
        previous_hash=manifest.set_hash if trusted else None,
        same=trusted and known == wanted,
        reuse=reuse,
    )


def equal_content(files: Mapping[str, str], deployed: Mapping[str, str]) -> frozenset[str]:
    """The new files whose deployed copy (read back) is byte-equal: reusable."""
    return frozenset(path for path, content in files.items() if deployed.get(path) == content)
