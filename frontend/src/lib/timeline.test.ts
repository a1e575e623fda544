import { describe, expect, it } from "vitest";
import { REQUEST } from "@/test/fixtures";
import { timelineSteps } from "./timeline";

const states = (status: typeof REQUEST.status) =>
  timelineSteps({ ...REQUEST, status }).map((s) => `${s.label}:${s.state}`);

describe("status timeline", () => {
  it("walks the happy path", () => {
    expect(states("pending")).toEqual(["Submitted:current", "Approved:todo", "Provisioning:todo", "Active:todo"]);
    expect(states("provisioning")).toEqual(["Submitted:done", "Approved:done", "Provisioning:current", "Active:todo"]);
    expect(states("active")).toEqual(["Submitted:done", "Approved:done", "Provisioning:done", "Active:done"]);
  });
  it("branches for rejection, cancellation, failure and leaving", () => {
    expect(states("rejected")).toEqual(["Submitted:done", "Rejected:failed"]);
    expect(states("cancelled")).toEqual(["Submitted:done", "Cancelled:stopped"]);
    expect(states("failed")).toContain("Provisioning failed:failed");
    expect(states("removed").slice(-2)).toEqual(["Leaving:done", "Removed:stopped"]);
  });
  it("takes times from the audit trail when there is one", () => {
    const steps = timelineSteps({ ...REQUEST, status: "active" }, [
      {
        id: 1,
        occurred_at: "2026-11-20T10:02:00Z",
        actor: "worker",
        actor_user_id: null,
        action: "provisioning.started",
        target_type: "request",
        target_id: REQUEST.id,
        request_id: REQUEST.id,
        from_status: "approved",
        to_status: "provisioning",
        details: {},
        client_address: null,
        correlation_id: null,
      },
    ]);
    expect(steps.find((s) => s.key === "provisioning")?.at).toBe("2026-11-20T10:02:00Z");
  });
});
