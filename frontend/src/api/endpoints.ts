/** Every API call the app makes, typed with the generated OpenAPI schemas. */
import { apiFetch } from "./client";
import type {
  AdminJoinRequestDetail,
  AdminRequestPage,
  AuthorizeUrl,
  ControllerState,
  JoinRequest,
  JoinRequestCreate,
  MaxPrefix,
  Me,
  MemberRouteServer,
  NeedsHumanReason,
  OidcCallback,
  OnboardingContext,
  RequestPage,
  RequestStatus,
  RouteServer,
  SortKey,
} from "./types";

export const api = {
  me: () => apiFetch<Me>("/me"),
  localLogin: (username: string, password: string) =>
    apiFetch<Me>("/auth/local/login", { method: "POST", body: { username, password } }),
  logout: () => apiFetch<void>("/auth/logout", { method: "POST" }),
  peeringdbStart: () => apiFetch<AuthorizeUrl>("/auth/peeringdb/start", { method: "POST" }),
  peeringdbCallback: (body: OidcCallback) =>
    apiFetch<Me>("/auth/peeringdb/callback", { method: "POST", body }),

  onboarding: () => apiFetch<OnboardingContext>("/onboarding/context"),
  myRequests: (limit = 100) => apiFetch<RequestPage>("/requests", { query: { limit } }),
  request: (id: string) => apiFetch<JoinRequest>(`/requests/${encodeURIComponent(id)}`),
  createRequest: (body: JoinRequestCreate) =>
    apiFetch<JoinRequest>("/requests", { method: "POST", body }),
  cancel: (id: string) =>
    apiFetch<JoinRequest>(`/requests/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
  leave: (id: string) =>
    apiFetch<JoinRequest>(`/requests/${encodeURIComponent(id)}/leave`, { method: "POST" }),
  requestRouteServers: (id: string) =>
    apiFetch<MemberRouteServer[]>(`/requests/${encodeURIComponent(id)}/route-servers`),

  adminQueue: (filter: QueueFilter) =>
    apiFetch<AdminRequestPage>("/admin/requests", {
      query: {
        status: filter.status,
        asn: filter.asn,
        zt_network_id: filter.network,
        min_age_minutes: filter.minAgeMinutes,
        needs_human_reason: filter.reason,
        grant_lost: filter.grantLost ? true : undefined,
        sort: filter.sort,
        limit: filter.limit,
        offset: filter.offset,
      },
    }),
  adminRequest: (id: string) =>
    apiFetch<AdminJoinRequestDetail>(`/admin/requests/${encodeURIComponent(id)}`),
  approve: (id: string) => adminAction(id, "approve"),
  reject: (id: string, reason: string) => adminAction(id, "reject", { reason }),
  retry: (id: string) => adminAction(id, "retry"),
  deprovision: (id: string) => adminAction(id, "deprovision"),
  keep: (id: string) => adminAction(id, "keep"),
  setMaxPrefix: (id: string, body: MaxPrefix) =>
    apiFetch<MaxPrefix>(`/admin/requests/${encodeURIComponent(id)}/max-prefix`, { method: "PUT", body }),

  routeServers: () => apiFetch<RouteServer[]>("/admin/route-servers", { query: { sessions: true } }),
  controller: () => apiFetch<ControllerState>("/admin/controller"),
};

function adminAction(id: string, action: string, body?: unknown) {
  return apiFetch<AdminJoinRequestDetail>(`/admin/requests/${encodeURIComponent(id)}/${action}`, {
    method: "POST",
    body,
  });
}

export interface QueueFilter {
  status?: RequestStatus[];
  asn?: number;
  network?: string;
  minAgeMinutes?: number;
  /** Requests the policy left to a human for this reason (a policy reason code). */
  reason?: NeedsHumanReason;
  /** Only requests whose requester lost the ASN at PeeringDB (members kept, flagged). */
  grantLost?: boolean;
  sort: SortKey;
  limit: number;
  offset: number;
}
