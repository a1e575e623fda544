import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { CONTEXT, jsonResponse, problem, REQUEST } from "@/test/fixtures";
import { mockApi, renderAt } from "@/test/render";
import { OnboardingPage } from "./OnboardingPage";

afterEach(() => vi.unstubAllGlobals());

function api(extra: Parameters<typeof mockApi>[0] = {}) {
  return mockApi({
    "GET /onboarding/context": () => jsonResponse(CONTEXT),
    "GET /requests": () => jsonResponse({ items: [], total: 0, limit: 100, offset: 0 }),
    ...extra,
  });
}

describe("the join form", () => {
  it("explains a wrong node ID inline, then sends a normalised one", async () => {
    const { calls } = api({
      "POST /requests": () => jsonResponse({ ...REQUEST, status: "pending" }, 201),
    });
    renderAt(<OnboardingPage />, { path: "/onboarding", route: "/onboarding" });
    const node = await screen.findByLabelText("Your router's ZeroTier node ID");
    const user = userEvent.setup();
    await user.type(node, "12345");
    await user.tab();
    expect(screen.getByText("A node ID has exactly 10 characters (this has 5).")).toBeVisible();
    expect(node).toHaveAttribute("aria-invalid", "true");

    await user.click(screen.getByRole("button", { name: "Send request" }));
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    await user.clear(node);
    await user.type(node, "1A2B3C4D5E");
    await user.selectOptions(screen.getByLabelText("ASN"), "13335");
    await user.click(screen.getByRole("button", { name: "Send request" }));
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent(`/requests/${REQUEST.id}`));
    const post = calls.find((c) => c.method === "POST")!;
    expect(JSON.parse(String(post.init.body))).toEqual({
      asn: 13335,
      zt_network_id: "8056c2e21c000001",
      node_id: "1a2b3c4d5e",
      notes: "",
    });
  });

  it("catches an open request for the same router before sending", async () => {
    api({
      "GET /requests": () =>
        jsonResponse({ items: [{ ...REQUEST, status: "pending" }], total: 1, limit: 100, offset: 0 }),
    });
    renderAt(<OnboardingPage />, { path: "/onboarding", route: "/onboarding" });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Your router's ZeroTier node ID"), "1a2b3c4d5e");
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("You already have an open request"));
    expect(screen.getByRole("link", { name: "Open it" })).toHaveAttribute("href", `/requests/${REQUEST.id}`);
  });

  it("explains the server's duplicate answer with a link to the existing request", async () => {
    api({ "POST /requests": () => problem("duplicate_open_request", 409, { existing_request_id: "abc-1" }) });
    renderAt(<OnboardingPage />, { path: "/onboarding", route: "/onboarding" });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Your router's ZeroTier node ID"), "aaaaaaaaaa");
    await user.click(screen.getByRole("button", { name: "Send request" }));
    expect(await screen.findByText("You already have an open request for this ASN, network and node.")).toBeVisible();
    expect(screen.getByRole("link", { name: "Open the existing request" })).toHaveAttribute("href", "/requests/abc-1");
  });

  it("explains a node another member holds, with no link to their request", async () => {
    api({ "POST /requests": () => problem("node_in_use", 409) });
    renderAt(<OnboardingPage />, { path: "/onboarding", route: "/onboarding" });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Your router's ZeroTier node ID"), "aaaaaaaaaa");
    await user.click(screen.getByRole("button", { name: "Send request" }));
    expect(await screen.findByText("Another member already uses this ZeroTier node on this IX network.")).toBeVisible();
    expect(screen.getByText(/contact the IX team/)).toBeVisible();
    expect(screen.queryByRole("link", { name: "Open the existing request" })).toBeNull();
  });

  it("says why someone without ASNs cannot ask", async () => {
    api({ "GET /onboarding/context": () => jsonResponse({ ...CONTEXT, asns: [] }) });
    renderAt(<OnboardingPage />, { path: "/onboarding", route: "/onboarding" });
    expect(await screen.findByText("You hold no ASN that can peer here")).toBeVisible();
    expect(screen.queryByLabelText("Your router's ZeroTier node ID")).toBeNull();
  });
});
