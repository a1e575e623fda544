"""Expanding a member's AS-SETs with bgpq4 (DESIGN §4): prefix lists and origin ASNs.

bgpq4 runs with an argument list (never a shell), every value checked by
``domain.irr.check_object``/``check_source`` first, and under a timeout of ours: bgpq4 has
none. ``-j`` (JSON) output is parsed; an unknown AS-SET is *not* an error to bgpq4 (empty
list, exit 0), so an expansion without a single route object is reported as a failure and
the caller keeps the last good data.

Route objects are fetched as registered (``-m`` drops those longer than the IX accepts);
whether their more-specifics are accepted is the route servers' policy switch, applied at
render time, so changing it needs no new expansion.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ztix.config import IrrConfig
from ztix.domain.irr import IrrObject, check_object, check_source
from ztix.irr.serials import source_serials

ERROR_TEXT_LIMIT = 500
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class IrrExpansionError(Exception):
    """The expansion failed; ``code`` is stable (stored, shown, counted in metrics)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail[:ERROR_TEXT_LIMIT]


def _bad_output(what: str) -> IrrExpansionError:
    return IrrExpansionError("irr_bad_output", f"unexpected bgpq4 output: {what}")


@dataclass(frozen=True)
class Expansion:
    prefixes_ipv4: tuple[ipaddress.IPv4Network, ...]
    prefixes_ipv6: tuple[ipaddress.IPv6Network, ...]
    origins: tuple[int, ...]


class Bgpq4:
    """bgpq4 against one IRR server and source list (``IrrConfig``)."""

    def __init__(self, config: IrrConfig, *, ipv4_max_length: int = 24, ipv6_max_length: int = 48):
        self.config = config
        self.sources = tuple(check_source(s) for s in config.sources)
        self.ipv4_max_length = ipv4_max_length
        self.ipv6_max_length = ipv6_max_length

    def serials(self) -> str | None:
        """The IRR's serial fingerprint of the configured sources (``irr.serials``)."""
        return source_serials(self.config.server, self.sources, self.config.timeout_seconds)

    def argv(self, mode: str, names: Sequence[str], sources: Sequence[str]) -> list[str]:
        """The argument list of one call; ``mode`` is ``4``, ``6`` or ``origins``."""
        argv = [self.config.bgpq4, "-h", self.config.server, "-j", "-l", "irr"]
        if sources:
            argv += ["-S", ",".join(check_source(s) for s in sources)]
        if mode == "4":
            argv += ["-4", "-m", str(self.ipv4_max_length)]
        elif mode == "6":
            argv += ["-6", "-m", str(self.ipv6_max_length)]
        elif mode == "origins":
            argv += ["-t"]
        else:
            raise ValueError(mode)
        # Checked again here: nothing unvalidated, nothing that reads as an option.
        return argv + [check_object(n) for n in names]

    def _run(self, argv: list[str]) -> list[object]:
        try:
            done = subprocess.run(  # noqa: S603 - a checked argument list, no shell
                argv,
                capture_output=True,
                text=True,
                timeout=self.config.timeout_seconds,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise IrrExpansionError(
                "irr_timeout", f"bgpq4 gave no answer within {self.config.timeout_seconds:g} s"
            ) from exc
        except OSError as exc:
            raise IrrExpansionError("irr_bgpq4_missing", f"cannot run bgpq4: {exc}") from exc
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
            raise IrrExpansionError(
                "irr_query_failed",
                f"bgpq4 exited with {done.returncode}: {lines[-1] if lines else 'no message'}",
            )
        try:
            data = json.loads(done.stdout)
            rows = data["irr"]
        except (ValueError, KeyError, TypeError) as exc:
            raise IrrExpansionError(
                "irr_bad_output", "bgpq4's output is not the JSON expected"
            ) from exc
        if not isinstance(rows, list):
            raise IrrExpansionError("irr_bad_output", "bgpq4's output is not a list")
        return rows

    def _prefixes(
        self, rows: list[object], version: int
    ) -> set[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        found: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
        for row in rows:
            try:
                assert isinstance(row, dict)
                net = ipaddress.ip_network(str(row["prefix"]), strict=True)
            except (AssertionError, KeyError, ValueError) as exc:
                raise IrrExpansionError(
                    "irr_bad_output", f"not a prefix in bgpq4's output: {row!r:.80}"
                ) from exc
            if net.version != version:
                raise IrrExpansionError(
                    "irr_bad_output", f"IPv{net.version} prefix in an IPv{version} list"
                )
            found.add(net)
        return found

    def expand(self, objects: Sequence[IrrObject]) -> Expansion:
        """The union of the objects' route objects (v4, v6) and origin ASNs."""
        groups: dict[str | None, list[str]] = defaultdict(list)
        for obj in objects:
            groups[obj.source].append(obj.name)
        v4: set[ipaddress.IPv4Network] = set()
        v6: set[ipaddress.IPv6Network] = set()
        origins: set[int] = set()
        for source, names in groups.items():
            sources = (source,) if source is not None else self.sources
            v4 |= {
                n
                for n in self._prefixes(self._run(self.argv("4", names, sources)), 4)
                if isinstance(n, ipaddress.IPv4Network)
            }
            v6 |= {
                n
                for n in self._prefixes(self._run(self.argv("6", names, sources)), 6)
                if isinstance(n, ipaddress.IPv6Network)
            }
            for asn in self._run(self.argv("origins", names, sources)):
                if not isinstance(asn, int) or isinstance(asn, bool) or not 0 < asn < 2**32:
                    raise IrrExpansionError(
                        "irr_bad_output", f"not an ASN in bgpq4's output: {asn!r:.40}"
                    )
                origins.add(asn)
        if not v4 and not v6:
            raise IrrExpansionError(
                "irr_empty",
                f"{' '.join(str(o) for o in objects)} expands to no route object "
                "(unknown AS-SET, or nothing registered)",
            )
        return Expansion(tuple(sorted(v4)), tuple(sorted(v6)), tuple(sorted(origins)))
