"""Eligibility and auto-approval policy: who may join, and when no human needs to look.

Pure rules, no I/O. The workflow gathers the inputs (the ASN and the IX network, how the
requester holds the ASN, a PeeringDB snapshot or "unknown", how many automatic approvals
the ASN had in the last 24 hours) and :func:`evaluate` answers a :class:`Verdict`: a
decision, every check with its status and evidence, and the reasons a human is needed.

- Deny wins over allow: a deny-list entry refuses an ASN that an allow-list also names.
- An empty allow-list means "any ASN" (identifier validation already refused the ASNs that
  can never peer). Ranges are inclusive.
- PeeringDB that cannot be asked makes a check ``unknown``, never ``pass``: the request then
  waits for an admin, whatever the requirement's ``on_failure``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ztix.domain.identifiers import ASN_MAX, ASN_MIN, parse_asn_text

Evidence = Mapping[str, str | int | bool | None]


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105  (a check status, not a password)
    FAIL = "fail"
    UNKNOWN = "unknown"


class Decision(StrEnum):
    ALLOW = "allow"  # approved without a human (policy_auto only)
    DENY_ASN = "deny_asn"  # refused: the ASN may not join this IX
    DENY_NETWORK = "deny_network"  # refused: the ASN may not join this IX network
    NEEDS_ADMIN = "needs_admin"  # created pending; ``reasons`` say why a human must look


class Reason(StrEnum):
    """Why a request needs a human. Stable codes: the admin queue filters by them."""

    MANUAL_APPROVAL_MODE = "manual_approval_mode"
    PEERINGDB_UNKNOWN = "peeringdb_unknown"
    PEERINGDB_REQUIREMENT_FAILED = "peeringdb_requirement_failed"
    NETWORK_MANUAL = "network_manual"
    NO_PEERINGDB_IDENTITY = "no_peeringdb_identity"
    PEERINGDB_PERMS_INSUFFICIENT = "peeringdb_perms_insufficient"
    DAILY_LIMIT_REACHED = "daily_limit_reached"


# Sentences a member may read: they name no list entry and no other network's data.
REASON_MESSAGES: dict[Reason, str] = {
    Reason.MANUAL_APPROVAL_MODE: "An IX admin reviews every request at this IX.",
    Reason.PEERINGDB_UNKNOWN: (
        "PeeringDB could not be asked about your network; an IX admin will check it."
    ),
    Reason.PEERINGDB_REQUIREMENT_FAILED: (
        "Your network's PeeringDB record does not meet the IX's requirements; "
        "an IX admin will review the request."
    ),
    Reason.NETWORK_MANUAL: "An IX admin reviews every request for this IX network.",
    Reason.NO_PEERINGDB_IDENTITY: (
        "You do not hold this ASN through a PeeringDB login; an IX admin will review it."
    ),
    Reason.PEERINGDB_PERMS_INSUFFICIENT: (
        "Your PeeringDB permissions on this network are not enough for automatic "
        "approval; an IX admin will review the request."
    ),
    Reason.DAILY_LIMIT_REACHED: (
        "This ASN reached the number of automatic approvals per day; "
        "an IX admin will review the request."
    ),
}


# --- rules ---------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class AsnRange:
    """One ASN or an inclusive range of them, as written in the config."""

    first: int
    last: int

    def __contains__(self, asn: object) -> bool:
        return isinstance(asn, int) and self.first <= asn <= self.last

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def _asn_text(text: str) -> int:
    asn = parse_asn_text(text)
    if asn is None:
        raise ValueError(f"{text[:40]!r} is not an ASN (the digits 0-9, optionally after AS)")
    return asn


def parse_asn_range(value: object) -> AsnRange:
    """``64500``, ``"AS64500"``, ``"64500-64510"`` or ``"AS64500-AS64510"`` (inclusive)."""
    if isinstance(value, AsnRange):
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError('an ASN entry is a number or a range "first-last"')
    if isinstance(value, int):
        first = last = value
    else:
        low, sep, high = value.partition("-")
        first = _asn_text(low)
        last = _asn_text(high) if sep else first
    for asn in (first, last):
        if not ASN_MIN <= asn <= ASN_MAX:
            raise ValueError(f"AS{asn} is outside {ASN_MIN}-{ASN_MAX}")
    if first > last:
        raise ValueError(f"range {first}-{last} ends before it starts")
    return AsnRange(first, last)


@dataclass(frozen=True)
class AsnList:
    entries: tuple[AsnRange, ...] = ()

    @classmethod
    def of(cls, values: Iterable[object]) -> AsnList:
        return cls(tuple(parse_asn_range(v) for v in values))

    def match(self, asn: int) -> AsnRange | None:
        """The first entry naming ``asn``."""
        return next((entry for entry in self.entries if asn in entry), None)


class OnFailure(StrEnum):
    REVIEW = "review"  # a failed PeeringDB requirement sends the request to an admin
    DENY = "deny"  # a failed PeeringDB requirement refuses the request


# PeeringDB's `policy_general` values, from least to most open.
POLICY_GENERAL_ORDER = ("No", "Restrictive", "Selective", "Open")


@dataclass(frozen=True)
class PeeringDBRequirements:
    require_record: bool = False
    reject_never_via_route_servers: bool = False
    min_policy_general: str | None = None  # one of POLICY_GENERAL_ORDER
    on_failure: OnFailure = OnFailure.REVIEW

    @property
    def enabled(self) -> bool:
        return (
            self.require_record
            or self.reject_never_via_route_servers
            or self.min_policy_general is not None
        )


@dataclass(frozen=True)
class AutoApprovalRules:
    """Guardrails of ``policy_auto``: when every check passes, these still must hold."""

    required_peeringdb_perms: int = 2
    allow_local_grants: bool = False
    max_per_asn_per_day: int | None = None


@dataclass(frozen=True)
class PolicyRules:
    allowed_asns: AsnList = AsnList()
    denied_asns: AsnList = AsnList()
    peeringdb: PeeringDBRequirements = PeeringDBRequirements()
    auto_approval: AutoApprovalRules = AutoApprovalRules()


@dataclass(frozen=True)
class NetworkRules:
    zt_network_id: str
    name: str
    allowed_asns: AsnList = AsnList()
    manual_approval: bool = False

    @property
    def key(self) -> str:
        """Where the network's rules are written in the config."""
        return f"networks[{self.zt_network_id}]"


# --- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    """How the requester holds the ASN: PeeringDB perms (None: not through PeeringDB), and
    whether an IX admin granted it locally. An admin acting for any ASN holds neither."""

    peeringdb_perms: int | None = None
    local_grant: bool = False


@dataclass(frozen=True)
class PeeringDBSnapshot:
    """The fields of PeeringDB's `net` record the policy reads, and where they came from."""

    found: bool
    info_never_via_route_servers: bool = False
    policy_general: str = ""
    source: str = "cache"  # "cache", or "peeringdb" when fetched for this evaluation
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class PeeringDBUnknown:
    """PeeringDB could not be asked and nothing fresh is cached."""

    why: str


# --- the verdict ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    rule: str  # the config key that states the rule
    status: CheckStatus
    detail: str  # for admins: may name list entries
    evidence: Evidence = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rule": self.rule,
            "status": self.status.value,
            "detail": self.detail,
            "evidence": dict(self.evidence),
        }


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    checks: tuple[Check, ...]
    reasons: tuple[Reason, ...] = ()
    auto_approval: bool = False
    denied_by: Check | None = None
    refusal: str | None = None  # for the requester: names the rule, not the entry

    @property
    def denied(self) -> bool:
        return self.decision in (Decision.DENY_ASN, Decision.DENY_NETWORK)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "auto_approval": self.auto_approval,
            "denied_by": self.denied_by.name if self.denied_by else None,
            "reasons": [{"code": r.value, "message": REASON_MESSAGES[r]} for r in self.reasons],
            "checks": [c.as_dict() for c in self.checks],
        }


def member_summary(record: dict[str, Any]) -> str:
    """What a member sees of a verdict (``record``, :meth:`Verdict.as_dict`): its decision
    and its reasons with their messages, as compact JSON text, written once with the
    verdict and sent as is by the member's list (the checks and their evidence are the
    IX's own business)."""
    shown = {
        "decision": record["decision"],
        "reasons": [{"code": r["code"], "message": r["message"]} for r in record["reasons"]],
    }
    return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


def _list_check(
    name: str, rule: str, entries: AsnList, asn: int, *, deny: bool, what: str
) -> Check:
    matched = entries.match(asn)
    evidence: dict[str, str | int | bool | None] = {
        "matched": None if matched is None else str(matched),
        "entries": len(entries.entries),
    }
    if deny:
        if matched is not None:
            return Check(
                name, rule, CheckStatus.FAIL, f"AS{asn} matches {what} entry {matched}", evidence
            )
        return Check(name, rule, CheckStatus.PASS, f"AS{asn} is not on {what}", evidence)
    if not entries.entries:
        return Check(name, rule, CheckStatus.PASS, f"{what} is empty: any ASN may", evidence)
    if matched is not None:
        return Check(
            name, rule, CheckStatus.PASS, f"AS{asn} matches {what} entry {matched}", evidence
        )
    return Check(name, rule, CheckStatus.FAIL, f"AS{asn} is not on {what}", evidence)


def _peeringdb_checks(
    req: PeeringDBRequirements, data: PeeringDBSnapshot | PeeringDBUnknown | None
) -> list[Check]:
    wanted: list[tuple[str, str, str]] = []  # (check, rule, PeeringDB field)
    if req.require_record:
        wanted.append(("peeringdb_record", "require_record", "net"))
    if req.reject_never_via_route_servers:
        wanted.append(
            (
                "peeringdb_route_servers",
                "reject_never_via_route_servers",
                "info_never_via_route_servers",
            )
        )
    if req.min_policy_general is not None:
        wanted.append(("peeringdb_policy_general", "min_policy_general", "policy_general"))
    if data is None:
        data = PeeringDBUnknown("no PeeringDB data was looked up")
    checks = []
    for name, key, pdb_field in wanted:
        rule = f"policy.peeringdb.{key}"
        if isinstance(data, PeeringDBUnknown):
            checks.append(
                Check(
                    name,
                    rule,
                    CheckStatus.UNKNOWN,
                    f"PeeringDB unknown: {data.why}",
                    {"field": pdb_field, "value": None, "why": data.why},
                )
            )
            continue
        source = {
            "source": data.source,
            "fetched_at": data.fetched_at.isoformat() if data.fetched_at else None,
        }
        if not data.found:
            checks.append(
                Check(
                    name,
                    rule,
                    CheckStatus.FAIL,
                    "PeeringDB has no net record for this ASN",
                    {"field": "net", "value": None, **source},
                )
            )
        elif name == "peeringdb_record":
            checks.append(
                Check(
                    name,
                    rule,
                    CheckStatus.PASS,
                    "PeeringDB has a net record",
                    {"field": "net", "value": "found", **source},
                )
            )
        elif name == "peeringdb_route_servers":
            never = data.info_never_via_route_servers
            checks.append(
                Check(
                    name,
                    rule,
                    CheckStatus.FAIL if never else CheckStatus.PASS,
                    f"info_never_via_route_servers is {str(never).lower()}",
                    {"field": pdb_field, "value": never, **source},
                )
            )
        else:
            checks.append(_policy_general_check(name, rule, req, data, source))
    return checks


def _policy_general_check(
    name: str,
    rule: str,
    req: PeeringDBRequirements,
    data: PeeringDBSnapshot,
    source: dict[str, str | None],
) -> Check:
    ranks = {p.lower(): i for i, p in enumerate(POLICY_GENERAL_ORDER)}
    minimum = req.min_policy_general or POLICY_GENERAL_ORDER[0]
    value = data.policy_general.strip()
    rank = ranks.get(value.lower())
    ok = rank is not None and rank >= ranks[minimum.lower()]
    stated = repr(value) if value else "not stated"
    return Check(
        name,
        rule,
        CheckStatus.PASS if ok else CheckStatus.FAIL,
        f"policy_general is {stated}; at least {minimum!r} is required",
        {"field": "policy_general", "value": value or None, "minimum": minimum, **source},
    )


def _perms_check(holding: Holding, rules: AutoApprovalRules) -> tuple[Check, Reason | None]:
    rule = "policy.auto_approval.required_peeringdb_perms"
    need = rules.required_peeringdb_perms
    perms = holding.peeringdb_perms
    evidence: dict[str, str | int | bool | None] = {
        "peeringdb_perms": perms,
        "required": need,
        "local_grant": holding.local_grant,
    }
    if perms is not None and perms & need == need:
        detail = f"PeeringDB perms {perms} hold every bit of {need}"
        return Check("peeringdb_perms", rule, CheckStatus.PASS, detail, evidence), None
    if holding.local_grant and rules.allow_local_grants:
        rule = "policy.auto_approval.allow_local_grants"
        detail = "held through a local grant, trusted for automatic approval"
        return Check("peeringdb_perms", rule, CheckStatus.PASS, detail, evidence), None
    if perms is not None:
        detail = f"PeeringDB perms {perms} lack bits of {need}"
        check = Check("peeringdb_perms", rule, CheckStatus.FAIL, detail, evidence)
        return check, Reason.PEERINGDB_PERMS_INSUFFICIENT
    detail = "not held through PeeringDB" + (" (local grant)" if holding.local_grant else "")
    check = Check("peeringdb_perms", rule, CheckStatus.FAIL, detail, evidence)
    return check, Reason.NO_PEERINGDB_IDENTITY


def _guardrails(
    asn: int,
    network: NetworkRules,
    holding: Holding,
    rules: AutoApprovalRules,
    auto_approvals_today: int,
) -> tuple[list[Check], list[Reason]]:
    """The checks only ``policy_auto`` makes: a manual network, the requester's PeeringDB
    perms, the daily limit."""
    manual = network.manual_approval
    checks = [
        Check(
            "network_manual",
            f"{network.key}.manual_approval",
            CheckStatus.FAIL if manual else CheckStatus.PASS,
            f"{network.name} is " + ("kept manual" if manual else "open to automatic approval"),
            {"manual_approval": manual},
        )
    ]
    reasons = [Reason.NETWORK_MANUAL] if manual else []
    perms, perms_reason = _perms_check(holding, rules)
    checks.append(perms)
    if perms_reason is not None:
        reasons.append(perms_reason)
    limit = rules.max_per_asn_per_day
    if limit is not None:
        reached = auto_approvals_today >= limit
        checks.append(
            Check(
                "daily_limit",
                "policy.auto_approval.max_per_asn_per_day",
                CheckStatus.FAIL if reached else CheckStatus.PASS,
                f"{auto_approvals_today} automatic approvals of AS{asn} in the last 24 hours; "
                f"the limit is {limit}",
                {"auto_approved_last_24h": auto_approvals_today, "limit": limit},
            )
        )
        if reached:
            reasons.append(Reason.DAILY_LIMIT_REACHED)
    return checks, reasons


def _refusal(asn: int, network: NetworkRules, check: Check) -> str:
    if check.name == "asn_denylist":
        return f"AS{asn} may not join this IX ({check.rule})"
    if check.name == "asn_allowlist":
        return f"AS{asn} is not among the ASNs this IX admits ({check.rule})"
    if check.name == "network_allowlist":
        return f"AS{asn} may not join IX network {network.name} ({check.rule})"
    # PeeringDB data is public: the member may read what failed.
    return f"AS{asn} does not meet a PeeringDB requirement: {check.detail} ({check.rule})"


def evaluate(
    *,
    asn: int,
    network: NetworkRules,
    rules: PolicyRules,
    holding: Holding,
    peeringdb: PeeringDBSnapshot | PeeringDBUnknown | None,
    auto_approvals_today: int,
    auto_approval: bool,
) -> Verdict:
    """Decide on one request. ``auto_approval`` is true under ``policy_auto``; the
    guardrail checks are made only then. ``peeringdb`` is read only when a PeeringDB
    requirement is switched on."""
    denylist = _list_check(
        "asn_denylist",
        "policy.denied_asns",
        rules.denied_asns,
        asn,
        deny=True,
        what="the deny list",
    )
    allowlist = _list_check(
        "asn_allowlist",
        "policy.allowed_asns",
        rules.allowed_asns,
        asn,
        deny=False,
        what="the allow list",
    )
    pdb_checks = _peeringdb_checks(rules.peeringdb, peeringdb) if rules.peeringdb.enabled else []
    network_list = _list_check(
        "network_allowlist",
        f"{network.key}.allowed_asns",
        network.allowed_asns,
        asn,
        deny=False,
        what=f"{network.name}'s allow list",
    )
    checks = [denylist, allowlist, *pdb_checks, network_list]

    def fails(check: Check) -> bool:
        return check.status is CheckStatus.FAIL

    # Deny wins: the lists and (with on_failure: deny) PeeringDB refuse before any reason
    # for a human is considered; the ASN's own eligibility is named before the network's.
    pdb_denies = rules.peeringdb.on_failure is OnFailure.DENY
    refusing = [
        (denylist, Decision.DENY_ASN),
        (allowlist, Decision.DENY_ASN),
        *((c, Decision.DENY_ASN) for c in pdb_checks if pdb_denies),
        (network_list, Decision.DENY_NETWORK),
    ]
    denial = next(((c, d) for c, d in refusing if fails(c)), None)

    reasons: list[Reason] = []
    if any(c.status is CheckStatus.UNKNOWN for c in pdb_checks):
        reasons.append(Reason.PEERINGDB_UNKNOWN)
    if any(fails(c) for c in pdb_checks) and not pdb_denies:
        reasons.append(Reason.PEERINGDB_REQUIREMENT_FAILED)
    if not auto_approval:
        reasons.append(Reason.MANUAL_APPROVAL_MODE)
    else:
        guard_checks, guard_reasons = _guardrails(
            asn, network, holding, rules.auto_approval, auto_approvals_today
        )
        checks += guard_checks
        reasons += guard_reasons

    if denial is not None:
        denied_by, decision = denial
        return Verdict(
            decision,
            tuple(checks),
            auto_approval=auto_approval,
            denied_by=denied_by,
            refusal=_refusal(asn, network, denied_by),
        )
    return Verdict(
        Decision.NEEDS_ADMIN if reasons else Decision.ALLOW,
        tuple(checks),
        tuple(reasons),
        auto_approval=auto_approval,
    )
