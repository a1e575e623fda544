"""Who may join and when no human needs to look: workflow and policy sections."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer, PlainValidator, field_validator

from ztix.config.base import Strict
from ztix.domain.identifiers import InvalidIdentifier, normalize_node_id
from ztix.domain.policy import AsnRange, parse_asn_range


class ApprovalMode(StrEnum):
    MANUAL_ADMIN = "manual_admin"
    POLICY_AUTO = "policy_auto"


class WorkflowConfig(Strict):
    approval_mode: ApprovalMode = ApprovalMode.MANUAL_ADMIN
    # Private ASNs are refused at an IX; tests and the embedded demo may allow them.
    allow_private_asns: bool = False
    # ZeroTier nodes no member may request, on any IX network: the IX's own equipment
    # (monitoring probes, looking glasses, the controller's node). Route servers' node_id
    # are reserved without being listed here.
    reserved_node_ids: tuple[str, ...] = ()

    @field_validator("reserved_node_ids")
    @classmethod
    def _node_ids(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(normalize_node_id(v) for v in values)
        except InvalidIdentifier as exc:
            raise ValueError(exc.detail) from exc


# An ASN list entry: one ASN (64500 or "AS64500") or an inclusive range ("64500-64510").
AsnEntry = Annotated[AsnRange, PlainValidator(parse_asn_range), PlainSerializer(str)]


class PeeringDBRequirementsConfig(Strict):
    """Requirements on the ASN's PeeringDB `net` record (read through the PeeringDB cache)."""

    require_record: bool = False
    reject_never_via_route_servers: bool = False
    # PeeringDB's policy_general, least to most open: No, Restrictive, Selective, Open.
    min_policy_general: Literal["No", "Restrictive", "Selective", "Open"] | None = None
    # review: a failed requirement leaves the request for an admin; deny: it refuses it.
    # PeeringDB unreachable is never a pass nor a refusal: an admin decides.
    on_failure: Literal["review", "deny"] = "review"


class AutoApprovalConfig(Strict):
    """Guardrails of policy_auto: an eligible request is still left to an admin unless these
    hold."""

    # The requester's PeeringDB perms on the ASN's network must hold every bit of this mask.
    required_peeringdb_perms: int = Field(2, ge=1, le=15)
    # ASNs granted by an admin (`ztix users create --asn`) carry no PeeringDB perms.
    allow_local_grants: bool = False
    # At most this many automatic approvals per ASN in any 24 hours; null: no limit.
    max_per_asn_per_day: int | None = Field(None, ge=1)


class PolicyConfig(Strict):
    """Who may join (eligibility) and when no human needs to look (docs/architecture.md)."""

    allowed_asns: tuple[AsnEntry, ...] = ()  # empty: any ASN that may peer
    denied_asns: tuple[AsnEntry, ...] = ()  # wins over every allow list
    peeringdb: PeeringDBRequirementsConfig = PeeringDBRequirementsConfig()
    auto_approval: AutoApprovalConfig = AutoApprovalConfig()
