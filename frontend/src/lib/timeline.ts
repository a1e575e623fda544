/** The steps of a request's journey, for the status timeline (pure: tested by vitest). */
import type { AuditEvent, JoinRequest, RequestStatus } from "@/api/types";

export type StepState = "done" | "current" | "todo" | "failed" | "stopped";

export interface Step {
  key: string;
  label: string;
  state: StepState;
  at?: string | null;
}

const HAPPY: Array<[RequestStatus, string]> = [
  ["pending", "Submitted"],
  ["approved", "Approved"],
  ["provisioning", "Provisioning"],
  ["active", "Active"],
];

/** When the request entered each status, from the audit trail (admins) or the request. */
export function statusTimes(request: JoinRequest, audit?: AuditEvent[]): Partial<Record<RequestStatus, string>> {
  const times: Partial<Record<RequestStatus, string>> = { pending: request.created_at };
  if (request.decided_at && request.status !== "cancelled") {
    const decided: RequestStatus = request.status === "rejected" ? "rejected" : "approved";
    times[decided] = request.decided_at;
  }
  for (const event of audit ?? []) {
    if (event.to_status) times[event.to_status as RequestStatus] = event.occurred_at;
  }
  times[request.status] = times[request.status] ?? request.updated_at;
  return times;
}

export function timelineSteps(request: JoinRequest, audit?: AuditEvent[]): Step[] {
  const times = statusTimes(request, audit);
  const step = (key: RequestStatus, label: string, state: StepState): Step => ({
    key,
    label,
    state,
    at: state === "todo" ? null : times[key],
  });
  switch (request.status) {
    case "rejected":
      return [step("pending", "Submitted", "done"), step("rejected", "Rejected", "failed")];
    case "cancelled":
      return [step("pending", "Submitted", "done"), step("cancelled", "Cancelled", "stopped")];
    case "failed":
      return [
        step("pending", "Submitted", "done"),
        step("approved", "Approved", "done"),
        step("failed", "Provisioning failed", "failed"),
        step("active", "Active", "todo"),
      ];
    case "deprovisioning":
    case "removed": {
      const done = HAPPY.map(([key, label]) => step(key, label, "done"));
      return [
        ...done,
        step("deprovisioning", "Leaving", request.status === "deprovisioning" ? "current" : "done"),
        step("removed", "Removed", request.status === "removed" ? "stopped" : "todo"),
      ];
    }
    default: {
      const at = HAPPY.findIndex(([key]) => key === request.status);
      return HAPPY.map(([key, label], i) =>
        step(key, label, i < at ? "done" : i === at ? (key === "active" ? "done" : "current") : "todo"),
      );
    }
  }
}
