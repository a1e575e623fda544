import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { jsonResponse, REQUEST } from "@/test/fixtures";
import { mockApi, renderAt } from "@/test/render";
import { AdminRouteServersPage } from "./RouteServersPage";

afterEach(() => vi.unstubAllGlobals());

const PROTOCOL = "AS213035_1a2b3c4d5e_v4";
const SESSION = {
  protocol: PROTOCOL,
  family: "ipv4",
  state: "up",
  bgp_state: "Established",
  since: "2026-12-06T10:00:00Z",
  info: "Established",
  last_error: null,
  neighbor_address: "192.0.2.10",
  neighbor_as: 213035,
  imported: 4,
  filtered: 1,
  exported: 9,
  import_limit: 100,
  receive_limit: null,
  limit_tripped: null,
  request_id: REQUEST.id,
};
const SERVER = {
  name: "rs1",
  enabled: true,
  transport: "local",
  host: "localhost",
  asn: 64999,
  ipv4: "192.0.2.1",
  ipv6: "2001:db8:ab::1",
  network: "8056c2e21c000001",
  pair_order: 1,
  drained: false,
  sync: null,
  sessions_ok: true,
  sessions_error: null,
  sessions: [SESSION, { ...SESSION, protocol: "ztix_rpki_lab", request_id: null, neighbor_as: null }],
};
const ROUTE = {
  prefix: "8.8.8.8/32",
  primary: true,
  from_protocol: PROTOCOL,
  next_hop: "192.0.2.10",
  as_path: [213035],
  origin_asn: 213035,
  local_pref: 100,
  communities: [[65535, 666]],
  large_communities: [[64999, 1101, 13]],
  rpki: "unknown",
  blackhole: true,
  graceful_shutdown: false,
  filtered_reasons: ["blackhole for a prefix the member is not entitled to"],
};
const LG = `/requests/${REQUEST.id}/looking-glass/rs1/${PROTOCOL}`;

describe("the admin route-servers page", () => {
  it("opens any member session's looking glass: filtered routes with reasons, sent routes, lookup", async () => {
    const page = (kind: string, routes: unknown[]) => ({
      server: "rs1",
      protocol: PROTOCOL,
      kind,
      total: routes.length,
      offset: 0,
      limit: 25,
      read_at: "2026-12-06T10:00:00Z",
      routes,
    });
    const { calls } = mockApi({
      "GET /admin/route-servers": () => jsonResponse([SERVER]),
      [`GET ${LG}/routes`]: (url) => {
        const kind = url.searchParams.get("kind") ?? "filtered";
        return jsonResponse(page(kind, kind === "filtered" ? [ROUTE] : []));
      },
      [`GET ${LG}/lookup`]: () =>
        jsonResponse({
          server: "rs1",
          protocol: PROTOCOL,
          prefix: "8.8.8.8/32",
          accepted: [],
          filtered: [ROUTE],
          exported: [],
        }),
    });
    renderAt(<AdminRouteServersPage />, { path: "/admin/route-servers", route: "/admin/route-servers" });
    const user = userEvent.setup();
    const open = await screen.findByRole("button", { name: `Routes of ${PROTOCOL}` });
    // A session with no member request behind it (the RTR session) has no looking glass.
    expect(screen.getAllByRole("button", { name: /^Routes of/ })).toHaveLength(1);
    await user.click(open);
    expect(open).toHaveAttribute("aria-expanded", "true");
    const glass = screen.getByRole("region", { name: `Looking glass of ${PROTOCOL}` });
    expect(await within(glass).findByText("blackhole for a prefix the member is not entitled to")).toBeVisible();
    expect(within(glass).getByRole("link", { name: "Open the member's request" })).toHaveAttribute(
      "href",
      `/admin/requests/${REQUEST.id}`,
    );
    await user.click(within(glass).getByRole("tab", { name: "Sent to the member" }));
    expect(await within(glass).findByText("No routes.")).toBeVisible();
    expect(
      calls.filter((c) => c.path === `${LG}/routes`).map((c) => new URLSearchParams(c.search).get("kind")),
    ).toEqual(["filtered", "exported"]);
    await user.type(within(glass).getByLabelText("Look up a prefix"), "8.8.8.8/32");
    await user.click(within(glass).getByRole("button", { name: "Look up" }));
    const found = await within(glass).findByRole("region", { name: "Lookup of 8.8.8.8/32" });
    expect(within(found).getByRole("table", { name: "filtered routes" })).toHaveTextContent("8.8.8.8/32");
    await user.click(open);
    await waitFor(() => expect(screen.queryByRole("region", { name: `Looking glass of ${PROTOCOL}` })).toBeNull());
  });
});
