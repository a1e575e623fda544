/** Data hooks: one per API resource, with the polling rules of each page. */
import { type QueryKey, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { ApiError, api, requestPath, setCsrfToken, unwrap } from "@/api/client";
import type {
  AdminJoinRequestDetail,
  AdminRequestPage,
  ApprovalSettings,
  ControllerState,
  IrrStatus,
  JoinRequest,
  Me,
  MemberRouteServer,
  NeedsHumanReason,
  RequestPage,
  RequestStatus,
  RouteServer,
  SortKey,
} from "@/api/types";
import { CALM, FAST } from "@/lib/polling";
import { MOVING, TERMINAL } from "@/lib/status";
import { usePoller } from "./usePoller";

/** The admin queue's filters, as the queue page keeps them in its URL. */
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

export const keys = {
  me: ["me"] as const,
  onboarding: ["onboarding"] as const,
  myRequests: ["requests"] as const,
  request: (id: string) => ["request", id] as const,
  requestRouteServers: (id: string) => ["request", id, "route-servers"] as const,
  queue: (filter: QueueFilter) => ["admin", "queue", filter] as const,
  adminRequest: (id: string) => ["admin", "request", id] as const,
  routeServers: ["admin", "route-servers"] as const,
  controller: ["admin", "controller"] as const,
  requestIrr: (id: string) => ["request", id, "irr"] as const,
  irr: ["admin", "irr"] as const,
};

/** The logged-in user, or null when there is no session. */
export function useMe() {
  return useQuery<Me | null>({
    queryKey: keys.me,
    queryFn: async () => {
      try {
        const me = await unwrap(api.GET("/api/v1/me"));
        setCsrfToken(me.csrf_token);
        return me;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          setCsrfToken(null);
          return null;
        }
        throw error;
      }
    },
    staleTime: 60_000,
    refetchOnWindowFocus: true,
  });
}

export function useOnboarding() {
  return useQuery({
    queryKey: keys.onboarding,
    queryFn: () => unwrap(api.GET("/api/v1/onboarding/context")),
    staleTime: 60_000,
  });
}

export function useMyRequests() {
  const refetchInterval = usePoller<RequestPage>({
    policy: FAST,
    done: (page) => page.items.every((r) => TERMINAL.has(r.status)),
    fingerprint: (page) => page.items.map((r) => `${r.id}:${r.status}:${r.updated_at}`).join(","),
  });
  return useQuery({
    queryKey: keys.myRequests,
    queryFn: () => unwrap(api.GET("/api/v1/requests", { params: { query: { limit: 100 } } })),
    refetchInterval,
  });
}

const requestPrint = (r: JoinRequest) =>
  `${r.status}:${r.updated_at}:${r.attempts}:${r.membership?.last_synced_at ?? ""}`;

export function useRequest(id: string) {
  const refetchInterval = usePoller<JoinRequest>({
    policy: FAST,
    done: (r) => TERMINAL.has(r.status),
    fingerprint: requestPrint,
  });
  return useQuery({
    queryKey: keys.request(id),
    queryFn: () => unwrap(api.GET("/api/v1/requests/{request_id}", requestPath(id))),
    refetchInterval,
  });
}

export function useAdminRequest(id: string) {
  const refetchInterval = usePoller<AdminJoinRequestDetail>({
    policy: FAST,
    done: (r) => TERMINAL.has(r.status),
    fingerprint: (r) => `${requestPrint(r)}:${r.audit.length}`,
  });
  return useQuery({
    queryKey: keys.adminRequest(id),
    queryFn: () => unwrap(api.GET("/api/v1/admin/requests/{request_id}", requestPath(id))),
    refetchInterval,
  });
}

/** Route servers and the member's sessions: worth asking only once addresses exist. */
export function useRequestRouteServers(id: string, status: RequestStatus | undefined) {
  const refetchInterval = usePoller<MemberRouteServer[]>({ policy: CALM });
  const live = status === "active" || (status !== undefined && MOVING.has(status));
  return useQuery({
    queryKey: keys.requestRouteServers(id),
    queryFn: () => unwrap(api.GET("/api/v1/requests/{request_id}/route-servers", requestPath(id))),
    enabled: status !== undefined && !TERMINAL.has(status),
    refetchInterval: live ? refetchInterval : false,
  });
}

export function useQueue(filter: QueueFilter) {
  const refetchInterval = usePoller({
    policy: CALM,
    fingerprint: (page: AdminRequestPage) =>
      JSON.stringify([page.counts, page.items.map((r) => `${r.id}:${r.status}:${r.updated_at}`)]),
  });
  return useQuery({
    queryKey: keys.queue(filter),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/admin/requests", {
          params: {
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
          },
        }),
      ),
    refetchInterval,
    placeholderData: (previous) => previous,
  });
}

export function useRouteServers() {
  const refetchInterval = usePoller<RouteServer[]>({ policy: CALM });
  return useQuery({
    queryKey: keys.routeServers,
    queryFn: () => unwrap(api.GET("/api/v1/admin/route-servers", { params: { query: { sessions: true } } })),
    refetchInterval,
  });
}

/** The IRR (AS-SET) data the route servers filter this request's member with. */
export function useRequestIrr(id: string) {
  const refetchInterval = usePoller<IrrStatus>({ policy: CALM });
  return useQuery({
    queryKey: keys.requestIrr(id),
    queryFn: () => unwrap(api.GET("/api/v1/requests/{request_id}/irr", requestPath(id))),
    refetchInterval,
  });
}

export function useAdminIrr() {
  const refetchInterval = usePoller<IrrStatus[]>({ policy: CALM });
  return useQuery({
    queryKey: keys.irr,
    queryFn: () => unwrap(api.GET("/api/v1/admin/irr")),
    refetchInterval,
  });
}

export function useController() {
  const refetchInterval = usePoller({
    policy: CALM,
    fingerprint: (state: ControllerState) => JSON.stringify({ ...state, checked_at: null }),
  });
  return useQuery({
    queryKey: keys.controller,
    queryFn: () => unwrap(api.GET("/api/v1/admin/controller")),
    refetchInterval,
  });
}

// --- actions -------------------------------------------------------------------------

type RequestLike = { id: string; status: RequestStatus; updated_at: string };

/** An action on a request that shows its expected outcome at once (optimistic), rolls back
 *  with an error toast when the server says no, and confirms with a toast when it says yes. */
export function useRequestAction<T extends RequestLike>(opts: {
  key: QueryKey;
  run: (variables: { id: string; reason?: string; approval?: ApprovalSettings }) => Promise<T>;
  optimistic: RequestStatus;
  success: string;
  alsoInvalidate?: QueryKey[];
}) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: opts.run,
    onMutate: async () => {
      await client.cancelQueries({ queryKey: opts.key });
      const before = client.getQueryData<T>(opts.key);
      if (before) client.setQueryData<T>(opts.key, { ...before, status: opts.optimistic });
      return { before };
    },
    onError: (_error, _vars, context) => {
      if (context?.before) client.setQueryData(opts.key, context.before);
      // invalid_transition: show where the request really is now.
      void client.invalidateQueries({ queryKey: opts.key });
    },
    onSuccess: (data) => {
      client.setQueryData(opts.key, data);
      toast.success(opts.success);
    },
    onSettled: () => {
      for (const key of opts.alsoInvalidate ?? []) void client.invalidateQueries({ queryKey: key });
    },
  });
}
