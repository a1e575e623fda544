import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "@/App";
import { setCsrfToken } from "@/api/client";
import { jsonResponse, OPERATOR, problem, REQUEST, ROUTE_SERVERS } from "@/test/fixtures";
import { mockApi, renderAt } from "@/test/render";
import { RequestPage } from "./RequestPage";

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

const PATH = `/requests/${REQUEST.id}`;

describe("a member's request page", () => {
  it("shows what an active member needs to bring the session up", async () => {
    mockApi({
      [`GET ${PATH}`]: () => jsonResponse(REQUEST),
      [`GET ${PATH}/route-servers`]: () => jsonResponse(ROUTE_SERVERS),
    });
    renderAt(<RequestPage />, { path: "/requests/:id", route: PATH });
    expect(await screen.findByText("192.0.2.2")).toBeVisible();
    expect(screen.getByText("2001:db8:ab::21:3035:1")).toBeVisible();
    expect(screen.getByText("zerotier-cli join 8056c2e21c000001")).toBeVisible();
    expect(await screen.findByLabelText("BIRD 2 configuration for your router")).toHaveTextContent(
      "neighbor 192.0.2.1 as 64999;",
    );
    expect(screen.getByRole("button", { name: "Leave the IX" })).toBeVisible();
  });

  it("shows someone else's request as not found", async () => {
    mockApi({ [`GET ${PATH}`]: () => problem("request_not_found", 404) });
    renderAt(<RequestPage />, { path: "/requests/:id", route: PATH });
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeVisible();
  });

  it("cancels at once on screen, and rolls back with a toast when the server refuses", async () => {
    setCsrfToken("csrf-1");
    mockApi({
      [`GET ${PATH}`]: () => jsonResponse({ ...REQUEST, status: "pending", membership: null }),
      [`GET ${PATH}/route-servers`]: () => jsonResponse([]),
      [`POST ${PATH}/cancel`]: () =>
        new Promise((resolve) => setTimeout(() => resolve(problem("invalid_transition", 409)), 50)),
    });
    renderAt(<RequestPage />, { path: "/requests/:id", route: PATH });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Cancel request" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel request" }));
    await waitFor(() =>
      expect(document.querySelector("main [data-status], [data-status]")).toHaveAttribute("data-status", "cancelled"),
    );
    expect(await screen.findByText("The request has moved on and no longer allows this.")).toBeVisible();
    await waitFor(() => expect(document.querySelector("[data-status]")).toHaveAttribute("data-status", "pending"));
  });
});

describe("session expiry", () => {
  it("sends the user to /login and remembers where they were", async () => {
    let session = true;
    mockApi({
      "GET /me": () => (session ? jsonResponse(OPERATOR) : problem("session_expired", 401)),
      [`GET ${PATH}`]: () =>
        session ? jsonResponse({ ...REQUEST, status: "pending", membership: null }) : problem("session_expired", 401),
      [`GET ${PATH}/route-servers`]: () => jsonResponse([]),
      [`POST ${PATH}/cancel`]: () => problem("session_expired", 401),
    });
    const { client } = renderAt(<App />, { path: "*", route: PATH });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Cancel request" }));
    session = false;
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel request" }));
    expect(await screen.findByRole("heading", { name: "Log in" })).toBeVisible();
    expect(screen.getByRole("status")).toHaveTextContent("Your session has expired. Log in again");
    expect(client.getQueryData(["me"])).toBeNull();
  });
});
