"""The eligibility and auto-approval rules as pure functions (domain/policy.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ztix.domain.policy import (
    AsnList,
    AsnRange,
    AutoApprovalRules,
    CheckStatus,
    Decision,
    Holding,
    NetworkRules,
    OnFailure,
    PeeringDBRequirements,
    PeeringDBSnapshot,
    PeeringDBUnknown,
    PolicyRules,
    Reason,
    Verdict,
    evaluate,
    parse_asn_range,
)

NET = NetworkRules("8056c2e21c000001", "ZT-IX Frankfurt")
PDB_OK = PeeringDBSnapshot(
    found=True, policy_general="Open", fetched_at=datetime(2026, 1, 1, tzinfo=UTC)
)
STRICT_PDB = PeeringDBRequirements(
    require_record=True, reject_never_via_route_servers=True, min_policy_general="Restrictive"
)
MEMBER = Holding(peeringdb_perms=15)


def decide(
    asn: int = 213035,
    *,
    network: NetworkRules = NET,
    holding: Holding = MEMBER,
    peeringdb: PeeringDBSnapshot | PeeringDBUnknown | None = PDB_OK,
    today: int = 0,
    auto: bool = True,
    **rules: Any,
) -> Verdict:
    for key in ("allowed_asns", "denied_asns"):
        if key in rules:
            rules[key] = AsnList.of(rules[key])
    return evaluate(
        asn=asn,
        network=network,
        rules=PolicyRules(**rules),
        holding=holding,
        peeringdb=peeringdb,
        auto_approvals_today=today,
        auto_approval=auto,
    )


def statuses(verdict: Verdict) -> dict[str, str]:
    return {c.name: c.status.value for c in verdict.checks}


# --- ASN entries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3320, AsnRange(3320, 3320)),
        ("3320", AsnRange(3320, 3320)),
        ("AS3320", AsnRange(3320, 3320)),
        ("3320-3330", AsnRange(3320, 3330)),
        ("AS3320-AS3330", AsnRange(3320, 3330)),
        (" as3320 - 3330 ", AsnRange(3320, 3330)),
        ("1-4294967294", AsnRange(1, 4_294_967_294)),
    ],
)
def test_asn_entries(value: object, expected: AsnRange) -> None:
    assert parse_asn_range(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3330-3320", "ends before it starts"),
        (0, "outside"),
        ("4294967295", "outside"),
        ("lots", "not an ASN"),
        ("3320-", "not an ASN"),
        (True, "a number or a range"),
        (3320.0, "a number or a range"),
        ([3320, 3330], "a number or a range"),
    ],
)
def test_bad_asn_entries(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_asn_range(value)


def test_ranges_are_inclusive_at_both_bounds() -> None:
    entries = AsnList.of(["3320-3330"])
    assert [entries.match(a) is not None for a in (3319, 3320, 3330, 3331)] == [
        False,
        True,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("asn", "denied"), [(3319, False), (3320, True), (3330, True), (3331, False)]
)
def test_deny_range_at_its_bounds(asn: int, denied: bool) -> None:
    verdict = decide(asn, denied_asns=["3320-3330"])
    assert (verdict.decision is Decision.DENY_ASN) is denied
    check = verdict.check("asn_denylist")
    assert check is not None
    assert check.evidence == {"matched": "3320-3330" if denied else None, "entries": 1}


@pytest.mark.parametrize(
    ("asn", "allowed"), [(3319, False), (3320, True), (3330, True), (3331, False)]
)
def test_allow_range_at_its_bounds(asn: int, allowed: bool) -> None:
    verdict = decide(asn, allowed_asns=["3320-3330"])
    assert verdict.decision is (Decision.ALLOW if allowed else Decision.DENY_ASN)


# --- lists -------------------------------------------------------------------------------


def test_empty_allowlist_means_any_asn() -> None:
    verdict = decide(4_199_999_999)
    assert verdict.decision is Decision.ALLOW
    allow = verdict.check("asn_allowlist")
    assert allow is not None and allow.status is CheckStatus.PASS
    assert "empty" in allow.detail


def test_deny_wins_over_allow() -> None:
    verdict = decide(3325, allowed_asns=["3320-3330"], denied_asns=["3325"])
    assert verdict.decision is Decision.DENY_ASN
    assert verdict.denied_by is not None and verdict.denied_by.name == "asn_denylist"
    assert statuses(verdict)["asn_allowlist"] == "pass"
    assert verdict.reasons == ()


def test_deny_wins_over_a_network_allowlist_too() -> None:
    net = NetworkRules(NET.zt_network_id, NET.name, allowed_asns=AsnList.of([3325]))
    verdict = decide(3325, network=net, denied_asns=["3325"])
    assert verdict.decision is Decision.DENY_ASN


def test_network_allowlist_narrows_eligible_asns() -> None:
    net = NetworkRules(NET.zt_network_id, "ZT-IX Lab", allowed_asns=AsnList.of(["3320-3330"]))
    outside = decide(213035, network=net)
    assert outside.decision is Decision.DENY_NETWORK
    assert outside.denied_by is not None
    assert outside.denied_by.rule == "networks[8056c2e21c000001].allowed_asns"
    assert outside.refusal == (
        "AS213035 may not join IX network ZT-IX Lab (networks[8056c2e21c000001].allowed_asns)"
    )
    assert decide(3330, network=net).decision is Decision.ALLOW


def test_network_allowlist_does_not_widen_the_ix_allowlist() -> None:
    net = NetworkRules(NET.zt_network_id, NET.name, allowed_asns=AsnList.of([174]))
    verdict = decide(174, network=net, allowed_asns=[3320])
    assert verdict.decision is Decision.DENY_ASN
    assert verdict.denied_by is not None and verdict.denied_by.name == "asn_allowlist"


def test_asn_is_named_before_network_when_both_refuse() -> None:
    net = NetworkRules(NET.zt_network_id, NET.name, allowed_asns=AsnList.of([3320]))
    verdict = decide(174, network=net, allowed_asns=[3320])
    assert verdict.decision is Decision.DENY_ASN
    assert statuses(verdict)["network_allowlist"] == "fail"


def test_refusal_names_the_rule_not_the_entry() -> None:
    verdict = decide(3325, denied_asns=["3320-3330"])
    assert verdict.refusal == "AS3325 may not join this IX (policy.denied_asns)"
    assert verdict.denied_by is not None
    assert "3320-3330" in verdict.denied_by.detail  # admins see it


# --- PeeringDB ---------------------------------------------------------------------------


def test_peeringdb_not_read_when_no_requirement_is_on() -> None:
    verdict = decide(peeringdb=PeeringDBUnknown("down"))
    assert verdict.decision is Decision.ALLOW
    assert not any(c.name.startswith("peeringdb_record") for c in verdict.checks)


def strict(**kw: Any) -> Verdict:
    return evaluate(
        asn=213035,
        network=NET,
        rules=PolicyRules(peeringdb=kw.pop("requirements", STRICT_PDB)),
        holding=kw.pop("holding", MEMBER),
        peeringdb=kw.pop("data", PDB_OK),
        auto_approvals_today=0,
        auto_approval=kw.pop("auto", True),
    )


def test_peeringdb_checks_and_evidence() -> None:
    verdict = strict()
    assert verdict.decision is Decision.ALLOW
    assert statuses(verdict) == {
        "asn_denylist": "pass",
        "asn_allowlist": "pass",
        "peeringdb_record": "pass",
        "peeringdb_route_servers": "pass",
        "peeringdb_policy_general": "pass",
        "network_allowlist": "pass",
        "network_manual": "pass",
        "peeringdb_perms": "pass",
    }
    rs = verdict.check("peeringdb_route_servers")
    assert rs is not None
    assert rs.rule == "policy.peeringdb.reject_never_via_route_servers"
    assert rs.evidence == {
        "field": "info_never_via_route_servers",
        "value": False,
        "source": "cache",
        "fetched_at": "2026-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize("on_failure", [OnFailure.REVIEW, OnFailure.DENY])
def test_peeringdb_unknown_is_never_a_pass_nor_a_refusal(on_failure: OnFailure) -> None:
    requirements = PeeringDBRequirements(require_record=True, on_failure=on_failure)
    verdict = strict(requirements=requirements, data=PeeringDBUnknown("PeeringDB unreachable"))
    assert verdict.decision is Decision.NEEDS_ADMIN
    assert verdict.reasons == (Reason.PEERINGDB_UNKNOWN,)
    record = verdict.check("peeringdb_record")
    assert record is not None and record.status is CheckStatus.UNKNOWN
    assert record.evidence["why"] == "PeeringDB unreachable"


def test_peeringdb_not_looked_up_is_unknown() -> None:
    verdict = strict(data=None)
    assert verdict.decision is Decision.NEEDS_ADMIN
    assert set(statuses(verdict).values()) >= {"unknown"}
    assert verdict.reasons == (Reason.PEERINGDB_UNKNOWN,)


def test_never_via_route_servers_sends_to_an_admin_under_review() -> None:
    data = PeeringDBSnapshot(found=True, info_never_via_route_servers=True, policy_general="Open")
    verdict = strict(data=data)
    assert verdict.decision is Decision.NEEDS_ADMIN
    assert verdict.reasons == (Reason.PEERINGDB_REQUIREMENT_FAILED,)
    assert statuses(verdict)["peeringdb_route_servers"] == "fail"


def test_never_via_route_servers_refuses_under_deny() -> None:
    data = PeeringDBSnapshot(found=True, info_never_via_route_servers=True, policy_general="Open")
    requirements = PeeringDBRequirements(
        reject_never_via_route_servers=True, on_failure=OnFailure.DENY
    )
    verdict = strict(data=data, requirements=requirements)
    assert verdict.decision is Decision.DENY_ASN
    assert verdict.refusal == (
        "AS213035 does not meet a PeeringDB requirement: info_never_via_route_servers is true "
        "(policy.peeringdb.reject_never_via_route_servers)"
    )


def test_no_peeringdb_record_fails_every_requirement() -> None:
    verdict = strict(data=PeeringDBSnapshot(found=False))
    assert {statuses(verdict)[n] for n in ("peeringdb_record", "peeringdb_route_servers")} == {
        "fail"
    }
    assert statuses(verdict)["peeringdb_policy_general"] == "fail"
    assert verdict.reasons == (Reason.PEERINGDB_REQUIREMENT_FAILED,)


@pytest.mark.parametrize(
    ("minimum", "value", "ok"),
    [
        ("Restrictive", "Open", True),
        ("Restrictive", "Selective", True),
        ("Restrictive", "Restrictive", True),
        ("Restrictive", "No", False),
        ("Restrictive", "", False),
        ("Restrictive", "Whatever", False),
        ("Selective", "Restrictive", False),
        ("Selective", "selective", True),
        ("Open", "Selective", False),
        ("No", "No", True),
    ],
)
def test_min_policy_general(minimum: str, value: str, ok: bool) -> None:
    requirements = PeeringDBRequirements(min_policy_general=minimum)
    verdict = strict(
        requirements=requirements, data=PeeringDBSnapshot(found=True, policy_general=value)
    )
    check = verdict.check("peeringdb_policy_general")
    assert check is not None
    assert check.status is (CheckStatus.PASS if ok else CheckStatus.FAIL)
    assert check.evidence["value"] == (value or None)
    assert check.evidence["minimum"] == minimum


# --- auto-approval guardrails ------------------------------------------------------------


def test_manual_mode_always_needs_an_admin_and_skips_guardrails() -> None:
    verdict = decide(auto=False, holding=Holding())
    assert verdict.decision is Decision.NEEDS_ADMIN
    assert verdict.reasons == (Reason.MANUAL_APPROVAL_MODE,)
    assert "peeringdb_perms" not in statuses(verdict)


@pytest.mark.parametrize(
    ("holding", "required", "local_ok", "reason"),
    [
        (Holding(peeringdb_perms=15), 2, False, None),
        (Holding(peeringdb_perms=2), 2, False, None),
        (Holding(peeringdb_perms=3), 8, False, Reason.PEERINGDB_PERMS_INSUFFICIENT),
        (Holding(peeringdb_perms=1), 2, False, Reason.PEERINGDB_PERMS_INSUFFICIENT),
        (Holding(peeringdb_perms=6), 6, False, None),
        (Holding(peeringdb_perms=4), 6, False, Reason.PEERINGDB_PERMS_INSUFFICIENT),
        (Holding(local_grant=True), 2, False, Reason.NO_PEERINGDB_IDENTITY),
        (Holding(local_grant=True), 2, True, None),
        (Holding(peeringdb_perms=1, local_grant=True), 2, True, None),
        (Holding(), 2, True, Reason.NO_PEERINGDB_IDENTITY),  # an admin acting for any ASN
    ],
)
def test_required_perms(
    holding: Holding, required: int, local_ok: bool, reason: Reason | None
) -> None:
    rules = AutoApprovalRules(required_peeringdb_perms=required, allow_local_grants=local_ok)
    verdict = decide(holding=holding, auto_approval=rules)
    assert verdict.reasons == (() if reason is None else (reason,))
    assert verdict.decision is (Decision.ALLOW if reason is None else Decision.NEEDS_ADMIN)


def test_manual_network_under_policy_auto() -> None:
    net = NetworkRules(NET.zt_network_id, NET.name, manual_approval=True)
    verdict = decide(network=net)
    assert verdict.decision is Decision.NEEDS_ADMIN
    assert verdict.reasons == (Reason.NETWORK_MANUAL,)
    manual = verdict.check("network_manual")
    assert manual is not None and manual.rule == "networks[8056c2e21c000001].manual_approval"


@pytest.mark.parametrize(("today", "reached"), [(0, False), (2, False), (3, True), (9, True)])
def test_daily_limit_at_its_bound(today: int, reached: bool) -> None:
    verdict = decide(today=today, auto_approval=AutoApprovalRules(max_per_asn_per_day=3))
    assert verdict.reasons == ((Reason.DAILY_LIMIT_REACHED,) if reached else ())
    check = verdict.check("daily_limit")
    assert check is not None
    assert check.evidence == {"auto_approved_last_24h": today, "limit": 3}


def test_no_daily_limit_by_default() -> None:
    assert decide(today=10_000).decision is Decision.ALLOW


def test_every_reason_is_given_in_order() -> None:
    net = NetworkRules(NET.zt_network_id, NET.name, manual_approval=True)
    verdict = evaluate(
        asn=213035,
        network=net,
        rules=PolicyRules(
            peeringdb=PeeringDBRequirements(require_record=True, min_policy_general="Open"),
            auto_approval=AutoApprovalRules(max_per_asn_per_day=1),
        ),
        holding=Holding(local_grant=True),
        peeringdb=PeeringDBUnknown("timeout"),
        auto_approvals_today=1,
        auto_approval=True,
    )
    assert verdict.decision is Decision.NEEDS_ADMIN
    assert verdict.reasons == (
        Reason.PEERINGDB_UNKNOWN,
        Reason.NETWORK_MANUAL,
        Reason.NO_PEERINGDB_IDENTITY,
        Reason.DAILY_LIMIT_REACHED,
    )


def test_a_refusal_carries_no_reasons_for_a_human() -> None:
    net = NetworkRules(NET.zt_network_id, NET.name, manual_approval=True)
    verdict = decide(174, network=net, denied_asns=[174], holding=Holding())
    assert verdict.denied
    assert verdict.reasons == ()


def test_verdict_as_json() -> None:
    verdict = strict(data=PeeringDBUnknown("down"))
    document = json.loads(json.dumps(verdict.as_dict()))
    assert document["decision"] == "needs_admin"
    assert document["denied_by"] is None
    assert document["auto_approval"] is True
    assert document["reasons"] == [
        {
            "code": "peeringdb_unknown",
            "message": "PeeringDB could not be asked about your network; an IX admin will "
            "check it.",
        }
    ]
    assert {c["status"] for c in document["checks"]} == {"pass", "unknown"}
