import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { App } from "@/App";
import { setCsrfToken } from "@/api/client";
import type { Me } from "@/api/types";
import { CONTEXT, jsonResponse, OPERATOR, problem } from "@/test/fixtures";
import { mockApi, renderAt } from "@/test/render";

beforeEach(() => {
  // The shell scrolls to the top on navigation; jsdom has no layout to scroll.
  vi.spyOn(window, "scrollTo").mockImplementation(() => {});
});

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

const ADMIN: Me = { ...OPERATOR, id: 2, username: "admin", display_name: "", role: "admin", asns: [] };
const EMPTY_QUEUE = { items: [], total: 0, limit: 25, offset: 0, counts: {} };

describe("the member and admin guards", () => {
  it("sends a visitor without a session to the login page, and back there after it", async () => {
    let session = false;
    const { calls } = mockApi({
      "GET /me": () => (session ? jsonResponse(ADMIN) : problem("not_authenticated", 401)),
      "POST /auth/local/login": () => {
        session = true;
        return jsonResponse(ADMIN);
      },
      "GET /admin/requests": () => jsonResponse(EMPTY_QUEUE),
      "GET /onboarding/context": () => jsonResponse(CONTEXT),
    });
    renderAt(<App />, { path: "*", route: "/admin/requests?status=pending" });
    expect(await screen.findByRole("heading", { name: "Log in" })).toBeVisible();
    expect(screen.queryByRole("navigation", { name: "Main" })).toBeNull();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Username"), "admin");
    await user.type(screen.getByLabelText("Password"), "secret");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("heading", { name: "Request queue" })).toBeVisible();
    await waitFor(() => expect(calls.find((c) => c.path === "/admin/requests")?.search).toContain("status=pending"));
  });

  it("shows an operator the shell with 'not found' on an admin page", async () => {
    mockApi({ "GET /me": () => jsonResponse(OPERATOR) });
    renderAt(<App />, { path: "*", route: "/admin/controller" });
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeVisible();
    expect(screen.getAllByRole("navigation", { name: "Main" })[0]).toBeVisible();
    expect(screen.queryByRole("link", { name: "Request queue" })).toBeNull();
  });

  it("opens the admin pages to an admin, and starts an admin without ASNs on the queue", async () => {
    const { calls } = mockApi({
      "GET /me": () => jsonResponse(ADMIN),
      "GET /admin/requests": () => jsonResponse(EMPTY_QUEUE),
      "GET /onboarding/context": () => jsonResponse(CONTEXT),
    });
    renderAt(<App />, { path: "*", route: "/" });
    expect(await screen.findByRole("heading", { name: "Request queue" })).toBeVisible();
    expect(calls.some((c) => c.path === "/admin/requests")).toBe(true);
  });
});

describe("the member directory for a visitor without a session", () => {
  const DIRECTORY = { ix_name: "Example IX", public: true, members: [] };

  it("shows the directory, with a way to log in, when the IX made it public", async () => {
    mockApi({
      "GET /me": () => problem("not_authenticated", 401),
      "GET /directory": () => jsonResponse(DIRECTORY),
    });
    renderAt(<App />, { path: "*", route: "/directory" });
    expect(await screen.findByRole("heading", { name: "Member directory" })).toBeVisible();
    expect(screen.getByText("No members are connected yet")).toBeVisible();
    expect(screen.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login?next=%2Fdirectory");
    expect(screen.queryByRole("navigation", { name: "Main" })).toBeNull();
  });

  it("asks for a login, not for a lost session, when the directory is not public", async () => {
    mockApi({
      "GET /me": () => problem("not_authenticated", 401),
      "GET /directory": () => problem("not_authenticated", 401),
    });
    renderAt(<App />, { path: "*", route: "/directory" });
    expect(await screen.findByRole("heading", { name: "Log in" })).toBeVisible();
    expect(screen.queryByText(/session (has )?expired/i)).toBeNull();
    expect(screen.queryByRole("heading", { name: "Member directory" })).toBeNull();
  });

  it("shows a member the directory inside the app's shell", async () => {
    mockApi({
      "GET /me": () => jsonResponse(OPERATOR),
      "GET /directory": () => jsonResponse({ ...DIRECTORY, public: false }),
    });
    renderAt(<App />, { path: "*", route: "/directory" });
    expect(await screen.findByRole("heading", { name: "Member directory" })).toBeVisible();
    expect(screen.getAllByRole("navigation", { name: "Main" })[0]).toBeVisible();
    expect(screen.queryByRole("link", { name: "Log in" })).toBeNull();
  });
});
