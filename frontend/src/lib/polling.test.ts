import { afterEach, describe, expect, it, vi } from "vitest";
import { AdaptivePoller, FAST, nextDelay } from "./polling";

describe("nextDelay", () => {
  it("starts at the base and resets to it on change", () => {
    expect(nextDelay(null, false, FAST)).toBe(FAST.baseMs);
    expect(nextDelay(9000, true, FAST)).toBe(FAST.baseMs);
  });
  it("grows by the factor while nothing changes, up to the cap", () => {
    expect(nextDelay(2000, false, FAST)).toBe(3200);
    expect(nextDelay(29000, false, FAST)).toBe(FAST.maxMs);
  });
});

describe("AdaptivePoller", () => {
  afterEach(() => vi.restoreAllMocks());

  it("slows down while answers stay the same and speeds up on a change", () => {
    const poller = new AdaptivePoller<{ status: string }>();
    const seen = [
      poller.interval({ status: "pending" }, 1),
      poller.interval({ status: "pending" }, 2),
      poller.interval({ status: "pending" }, 3),
      poller.interval({ status: "approved" }, 4),
    ];
    expect(seen).toEqual([2000, 3200, 5120, 2000]);
  });

  it("does not count a re-render as a new answer", () => {
    const poller = new AdaptivePoller<{ status: string }>();
    poller.interval({ status: "pending" }, 1);
    expect(poller.interval({ status: "pending" }, 2)).toBe(3200);
    expect(poller.interval({ status: "pending" }, 2)).toBe(3200);
  });

  it("stops for good on a terminal state", () => {
    const poller = new AdaptivePoller<{ status: string }>({ done: (d) => d.status === "rejected" });
    expect(poller.interval({ status: "pending" }, 1)).toBe(2000);
    expect(poller.interval({ status: "rejected" }, 2)).toBe(false);
  });

  it("pauses while the tab is hidden", () => {
    const poller = new AdaptivePoller<{ status: string }>();
    vi.spyOn(document, "visibilityState", "get").mockReturnValue("hidden");
    expect(poller.interval({ status: "pending" }, 1)).toBe(false);
    vi.spyOn(document, "visibilityState", "get").mockReturnValue("visible");
    expect(poller.interval({ status: "pending" }, 1)).toBe(2000);
  });

  it("uses a custom fingerprint to ignore noise", () => {
    const poller = new AdaptivePoller<{ status: string; checked: number }>({
      fingerprint: (d) => d.status,
    });
    poller.interval({ status: "ok", checked: 1 }, 1);
    expect(poller.interval({ status: "ok", checked: 2 }, 2)).toBe(3200);
  });
});
