/** Names for the generated OpenAPI schemas (src/api/schema.d.ts, from /api/v1/openapi.json). */
import type { components, paths } from "./schema";

type S = components["schemas"];

export type Me = S["MeOut"];
export type AsnInfo = S["AsnOut"];
export type Network = S["NetworkOut"];
export type OnboardingContext = S["OnboardingContext"];
export type JoinRequest = S["JoinRequestOut"];
export type JoinRequestCreate = S["JoinRequestCreate"];
export type AdminJoinRequest = S["AdminJoinRequestOut"];
export type AdminJoinRequestDetail = S["AdminJoinRequestDetail"];
export type AdminRequestPage = S["AdminRequestPage"];
export type RequestPage = S["Page_JoinRequestOut_"];
export type AuditEvent = S["AuditEventOut"];
export type Membership = S["MembershipOut"];
export type RequestStatus = S["RequestStatus"];
export type MemberRouteServer = S["MemberRouteServerOut"];
export type RouteServer = S["RouteServerOut"];
export type BgpSession = S["SessionOut"];
export type ControllerState = S["ControllerOut"];
export type Problem = S["Problem"];
export type AuthorizeUrl = S["AuthorizeUrl"];
export type MaxPrefix = S["MaxPrefixBody"];
export type OidcCallback = S["OidcCallback"];
export type SortKey = NonNullable<
  NonNullable<paths["/api/v1/admin/requests"]["get"]["parameters"]["query"]>["sort"]
>;

export const ALL_STATUSES: readonly RequestStatus[] = [
  "pending",
  "approved",
  "provisioning",
  "active",
  "failed",
  "rejected",
  "cancelled",
  "deprovisioning",
  "removed",
];

/** Why the policy left a request to a human (the admin queue can filter on it). */
export type NeedsHumanReason = components["schemas"]["Reason"];
