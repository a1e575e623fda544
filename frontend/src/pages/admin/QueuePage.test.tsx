import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { CONTEXT, jsonResponse, REQUEST } from "@/test/fixtures";
import { mockApi, renderAt } from "@/test/render";
import { AdminQueuePage, filterFromParams } from "./QueuePage";

afterEach(() => vi.unstubAllGlobals());

describe("the queue's filter", () => {
  it("reads a bookmarked URL and ignores what it does not understand", () => {
    const f = filterFromParams(new URLSearchParams("status=pending&status=bogus&asn=AS1&age=1440&sort=asn&page=3"));
    expect(f).toEqual({
      status: ["pending"],
      asn: undefined,
      network: undefined,
      minAgeMinutes: 1440,
      reason: undefined,
      sort: "asn",
      limit: 25,
      offset: 50,
    });
    expect(filterFromParams(new URLSearchParams("sort=evil")).sort).toBe("-created_at");
    expect(filterFromParams(new URLSearchParams("reason=daily_limit_reached")).reason).toBe("daily_limit_reached");
    expect(filterFromParams(new URLSearchParams("reason=bogus")).reason).toBeUndefined();
  });

  it("asks the API with the chosen status and shows counts for the whole IX", async () => {
    const page = {
      items: [{ ...REQUEST, status: "pending", created_by: "ada", decided_by: null, policy_verdict: null }],
      total: 1,
      limit: 25,
      offset: 0,
      counts: { pending: 1, active: 7 },
    };
    const { calls } = mockApi({
      "GET /admin/requests": () => jsonResponse(page),
      "GET /onboarding/context": () => jsonResponse(CONTEXT),
    });
    renderAt(<AdminQueuePage />, { path: "/admin/requests", route: "/admin/requests" });
    const active = await screen.findByRole("button", { name: "Active 7" });
    await userEvent.setup().click(screen.getByRole("button", { name: "Pending 1" }));
    await waitFor(() =>
      expect(calls.filter((c) => c.path === "/admin/requests").at(-1)!.search).toContain("status=pending"),
    );
    expect(active).toHaveAttribute("aria-pressed", "false");
    expect(screen.getByRole("button", { name: "Pending 1" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByRole("link", { name: REQUEST.id.slice(0, 8) })).toHaveAttribute(
      "href",
      `/admin/requests/${REQUEST.id}`,
    );
  });

  it("filters on why the policy left a request to a human", async () => {
    const page = { items: [], total: 0, limit: 25, offset: 0, counts: {} };
    const { calls } = mockApi({
      "GET /admin/requests": () => jsonResponse(page),
      "GET /onboarding/context": () => jsonResponse(CONTEXT),
    });
    renderAt(<AdminQueuePage />, { path: "/admin/requests", route: "/admin/requests" });
    await userEvent.setup().selectOptions(await screen.findByLabelText("Needs a human because"), "peeringdb_unknown");
    await waitFor(() =>
      expect(calls.filter((c) => c.path === "/admin/requests").at(-1)!.search).toContain(
        "needs_human_reason=peeringdb_unknown",
      ),
    );
  });

  it("flags members whose requester lost the ASN, and filters on them", async () => {
    const lost = {
      ...REQUEST,
      status: "active",
      created_by: "peeringdb:4242",
      decided_by: "root",
      policy_verdict: null,
      grant_lost_at: "2026-12-06T02:00:00Z",
    };
    const { calls } = mockApi({
      "GET /admin/requests": () =>
        jsonResponse({ items: [lost], total: 1, limit: 25, offset: 0, counts: { active: 1 } }),
      "GET /onboarding/context": () => jsonResponse(CONTEXT),
    });
    renderAt(<AdminQueuePage />, { path: "/admin/requests", route: "/admin/requests" });
    expect(await screen.findByText("Grant lost")).toBeInTheDocument();
    expect(filterFromParams(new URLSearchParams("grant_lost=1")).grantLost).toBe(true);
    await userEvent.setup().selectOptions(screen.getByLabelText("Requester's grant"), "1");
    await waitFor(() =>
      expect(calls.filter((c) => c.path === "/admin/requests").at(-1)!.search).toContain("grant_lost=true"),
    );
  });
});
