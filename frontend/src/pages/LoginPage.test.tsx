import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { getCsrfToken, setCsrfToken } from "@/api/client";
import { jsonResponse, problem } from "@/test/fixtures";
import { mockApi, renderAt } from "@/test/render";
import { AuthCallbackPage } from "./AuthCallbackPage";
import { LoginPage } from "./LoginPage";

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
  sessionStorage.clear();
});

const ME = {
  id: 1,
  username: "admin",
  display_name: "",
  email: null,
  role: "admin",
  login_method: "local",
  asns: [],
  csrf_token: "c-9",
};

describe("logging in", () => {
  it("says what went wrong in a sentence, then goes back where the user was", async () => {
    let attempts = 0;
    mockApi({
      "GET /me": () => problem("not_authenticated", 401),
      "POST /auth/local/login": () => (++attempts === 1 ? problem("invalid_credentials", 401) : jsonResponse(ME)),
    });
    renderAt(<LoginPage />, { path: "/login", route: "/login?next=%2Fadmin%2Frequests%3Fstatus%3Dfailed" });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Username"), "admin");
    await user.type(screen.getByLabelText("Password"), "nope");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong username or password.");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent("/admin/requests?status=failed"));
    expect(getCsrfToken()).toBe("c-9");
  });

  it("never follows a next= that leaves the app", async () => {
    mockApi({ "GET /me": () => problem("not_authenticated", 401), "POST /auth/local/login": () => jsonResponse(ME) });
    renderAt(<LoginPage />, { path: "/login", route: "/login?next=//evil.example/x" });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Username"), "admin");
    await user.type(screen.getByLabelText("Password"), "pw");
    await user.click(screen.getByRole("button", { name: "Log in" }));
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent(/^\/$/));
  });

  it("finishes a PeeringDB login and explains a failed one", async () => {
    const { calls } = mockApi({ "POST /auth/peeringdb/callback": () => problem("state_replayed", 400) });
    renderAt(<AuthCallbackPage />, { path: "/auth/callback", route: "/auth/callback?code=c1&state=s1" });
    expect(await screen.findByRole("alert")).toHaveTextContent("This login link was already used.");
    expect(screen.getByRole("link", { name: "Back to log in" })).toHaveAttribute("href", "/login");
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({
      state: "s1",
      code: "c1",
      error: null,
      error_description: null,
    });
  });

  it("returns to the page the login started from", async () => {
    sessionStorage.setItem("ztix.next", "/onboarding");
    mockApi({ "POST /auth/peeringdb/callback": () => jsonResponse({ ...ME, role: "operator" }) });
    renderAt(<AuthCallbackPage />, { path: "/auth/callback", route: "/auth/callback?code=c1&state=s1" });
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent("/onboarding"));
  });
});
