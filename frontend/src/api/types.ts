/**
 * Names for the shapes the API answers with, read off the generated `paths`
 * (src/api/schema.d.ts, from /api/v1/openapi.json) by path and method, as the client calls them.
 */
import type { paths } from "./schema";

type Method = "get" | "post" | "put";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Json<T> = T extends { content: { "application/json": infer J } } ? J : never;
/** The JSON a path answers with on success. */
type Answer<P extends keyof paths, M extends Method = "get"> = Json<
  Operation<P, M>["responses"][keyof Operation<P, M>["responses"] & (200 | 201)]
>;
/** The JSON body a path takes. */
type Body<P extends keyof paths, M extends Method> = Json<NonNullable<Operation<P, M>["requestBody"]>>;
type Query<P extends keyof paths> = NonNullable<Operation<P, "get">["parameters"]["query"]>;

export type Me = Answer<"/api/v1/me">;
export type OnboardingContext = Answer<"/api/v1/onboarding/context">;
export type JoinRequest = Answer<"/api/v1/requests/{request_id}">;
export type JoinRequestCreate = Body<"/api/v1/requests", "post">;
export type RequestPage = Answer<"/api/v1/requests">;
export type AdminJoinRequestDetail = Answer<"/api/v1/admin/requests/{request_id}">;
export type AdminRequestPage = Answer<"/api/v1/admin/requests">;
export type AuditEvent = AdminJoinRequestDetail["audit"][number];
export type RequestStatus = JoinRequest["status"];
export type MemberRouteServer = Answer<"/api/v1/requests/{request_id}/route-servers">[number];
export type RouteServer = Answer<"/api/v1/admin/route-servers">[number];
export type BgpSession = NonNullable<RouteServer["sessions"]>[number];
export type ControllerState = Answer<"/api/v1/admin/controller">;
export type IrrStatus = Answer<"/api/v1/requests/{request_id}/irr">;
export type AdminUserRow = Answer<"/api/v1/admin/users">[number];
/** What an admin may set at approval: import-limit overrides and a note, all optional. */
export type ApprovalSettings = Body<"/api/v1/admin/requests/{request_id}/approve", "post">;
export type AdminNetwork = Answer<"/api/v1/admin/networks">[number];
export type SortKey = NonNullable<Query<"/api/v1/admin/requests">["sort"]>;
/** Why the policy left a request to a human (the admin queue can filter on it). */
export type NeedsHumanReason = NonNullable<Query<"/api/v1/admin/requests">["needs_human_reason"]>;

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
export type LookingGlassPage = Answer<"/api/v1/requests/{request_id}/looking-glass/{server}/{protocol}/routes">;
export type LookingGlassRoute = LookingGlassPage["routes"][number];
export type LookingGlassLookup = Answer<"/api/v1/requests/{request_id}/looking-glass/{server}/{protocol}/lookup">;
