import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { AdminNetwork } from "@/api/types";
import { jsonResponse } from "@/test/fixtures";
import { mockApi, renderAt } from "@/test/render";
import { AdminNetworksPage, formatCount } from "./NetworksPage";

afterEach(() => vi.unstubAllGlobals());

const L2 = {
  private: true,
  mtu: 1500,
  multicast_limit: 32,
  routes: ["192.0.2.0/24", "2001:db8:ab::/64"],
  v4_auto_assign: false,
  v6_auto_assign: { zt: false, rfc4193: false, "6plane": false },
  ethertypes_allowed: ["IPv4 (0x0800)", "ARP (0x0806)", "IPv6 (0x86DD)"],
  rule_count: 5,
};

const NET: AdminNetwork = {
  name: "ZT-IX Frankfurt",
  description: "",
  zt_network_id: "8056c2e21c000001",
  synced: true,
  members: 2,
  desired: L2,
  actual: { ...L2, mtu: 2800 },
  drift: [{ field: "mtu", have: 2800, want: 1500 }],
  controller_members: 3,
  controller_error: null,
  ipv4: { prefix: "192.0.2.0/24", total: 254, reserved: 10, used: 2, free: 242 },
  ipv6: { prefix: "2001:db8:ab::/64", total: 2 ** 64 - 1, reserved: 255, used: 1, free: 2 ** 64 - 257 },
  route_servers: [
    {
      name: "rs1",
      enabled: true,
      transport: "local",
      asn: 6695,
      node_id: "ab12cd34ef",
      ipv4: "192.0.2.1",
      ipv6: "2001:db8:ab::1",
    },
  ],
};

describe("the Networks page", () => {
  it("counts exactly, and an IPv6 /64 as the power of two it is", () => {
    expect(formatCount(242)).toBe("242");
    expect(formatCount(65_536)).toBe("65,536");
    expect(formatCount(2 ** 64 - 257)).toBe("≈ 2^64");
  });

  it("shows declared and actual settings side by side with the drift marked", async () => {
    mockApi({ "GET /admin/networks": () => jsonResponse([NET]) });
    renderAt(<AdminNetworksPage />, { path: "/admin/networks", route: "/admin/networks" });
    expect(await screen.findByRole("heading", { name: "ZT-IX Frankfurt" })).toBeVisible();
    const mtu = screen.getByRole("row", { name: /MTU/ });
    expect(within(mtu).getByText("differs")).toBeVisible();
    expect(
      within(mtu)
        .getAllByRole("cell")
        .map((c) => c.textContent),
    ).toEqual(["1500", "2800"]);
    expect(within(screen.getByRole("row", { name: /Private/ })).queryByText("differs")).toBeNull();
    expect(screen.getByText("Drift in 1")).toBeVisible();
    expect(screen.getByText("242")).toBeVisible();
    expect(screen.getByText("≈ 2^64")).toBeVisible();
    expect(screen.getByText(/3 on the controller/)).toBeVisible();
    expect(screen.getByText("rs1")).toBeVisible();
  });

  it("says why the controller's side is missing", async () => {
    const unread = { ...NET, actual: null, drift: [], controller_error: "the controller does not answer" };
    mockApi({ "GET /admin/networks": () => jsonResponse([unread]) });
    renderAt(<AdminNetworksPage />, { path: "/admin/networks", route: "/admin/networks" });
    expect(await screen.findByText(/not read: the controller does not answer/)).toBeVisible();
    expect(screen.getByText("Not read")).toBeVisible();
  });
});
