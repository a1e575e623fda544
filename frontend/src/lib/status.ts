import type { RequestStatus } from "@/api/types";

type Tone = "neutral" | "warm" | "blue" | "mist" | "ok" | "danger" | "taupe";

export const STATUS: Record<RequestStatus, { label: string; tone: Tone; member: string }> = {
  pending: { label: "Pending", tone: "warm", member: "Waiting for the IX team to review it." },
  approved: { label: "Approved", tone: "blue", member: "Approved: ZT-IX is about to connect your router." },
  provisioning: {
    label: "Provisioning",
    tone: "blue",
    member: "Connecting your router to the peering LAN and the route servers.",
  },
  active: { label: "Active", tone: "ok", member: "You are connected: bring up your BGP sessions." },
  failed: {
    label: "Failed",
    tone: "danger",
    member: "Connecting your router failed. The IX team has been told and can retry.",
  },
  rejected: { label: "Rejected", tone: "taupe", member: "The IX team declined this request." },
  cancelled: { label: "Cancelled", tone: "neutral", member: "You withdrew this request." },
  deprovisioning: { label: "Leaving", tone: "mist", member: "Removing your router from the IX." },
  removed: { label: "Removed", tone: "neutral", member: "Your router has left the IX." },
};

/** States that never change again by themselves: polling stops. */
export const TERMINAL: ReadonlySet<RequestStatus> = new Set(["rejected", "cancelled", "removed"]);
/** States where something is happening right now: poll quickly. */
export const MOVING: ReadonlySet<RequestStatus> = new Set(["approved", "provisioning", "deprovisioning"]);
/** Everything but closed requests blocks a duplicate (DESIGN §3). */
export const OPEN: ReadonlySet<RequestStatus> = new Set([
  "pending",
  "approved",
  "provisioning",
  "active",
  "failed",
  "deprovisioning",
]);
