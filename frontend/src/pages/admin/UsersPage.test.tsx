import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { setCsrfToken } from "@/api/client";
import type { AdminUserRow } from "@/api/types";
import { jsonResponse, OPERATOR, problem } from "@/test/fixtures";
import { mockApi, renderAt } from "@/test/render";
import { AdminUsersPage, parseAsn } from "./UsersPage";

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

const BOB: AdminUserRow = {
  id: 7,
  username: "bob",
  display_name: "Bob Operator",
  role: "operator",
  source: "local",
  is_active: true,
  last_login_at: null,
  created_at: "2026-12-01T10:00:00Z",
  live_sessions: 0,
  grants: [
    { asn: 196610, source: "local", network_name: null, granted_at: "2026-12-01T10:00:00Z" },
    { asn: 64496, source: "peeringdb", network_name: "Pdb", granted_at: "2026-12-01T10:00:00Z" },
  ],
} as AdminUserRow;

describe("manual ASN grants on the Users page", () => {
  it("reads an ASN as people write it", () => {
    expect(parseAsn("AS3320")).toBe(3320);
    expect(parseAsn(" as 3320 ")).toBe(3320);
    expect(parseAsn("3320")).toBe(3320);
    expect(parseAsn("AS")).toBeNull();
    expect(parseAsn("0")).toBeNull();
    expect(parseAsn("4294967295")).toBeNull();
    expect(parseAsn("AS-FOO")).toBeNull();
  });

  it("removes only manual grants and says why an ASN is refused", async () => {
    const { calls } = mockApi({
      "GET /me": () => jsonResponse({ ...OPERATOR, username: "admin", role: "admin" }),
      "GET /admin/users": () => jsonResponse([BOB]),
      "POST /admin/users/7/grants": () => problem("invalid_asn", 422),
    });
    renderAt(<AdminUsersPage />, { path: "/admin/users", route: "/admin/users" });
    expect(await screen.findByRole("button", { name: "Remove AS196610 from bob" })).toBeVisible();
    expect(screen.queryByRole("button", { name: "Remove AS64496 from bob" })).toBeNull(); // PeeringDB's

    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Add an ASN for bob"), "AS64500");
    await user.click(screen.getByRole("button", { name: "Add ASN to bob" }));
    const row = screen.getByRole("row", { name: /bob/ });
    expect(await within(row).findByRole("alert")).toHaveTextContent(/^This ASN cannot peer at this IX\./);
    expect(calls.find((c) => c.path === "/admin/users/7/grants")?.init.body).toBe('{"asn":64500}');

    await user.clear(screen.getByLabelText("Add an ASN for bob"));
    await user.type(screen.getByLabelText("Add an ASN for bob"), "AS-FOO");
    await user.click(screen.getByRole("button", { name: "Add ASN to bob" }));
    expect(within(row).getByRole("alert")).toHaveTextContent("Write an ASN as a number, e.g. AS3320.");
    expect(calls.filter((c) => c.path === "/admin/users/7/grants")).toHaveLength(1);
  });
});
