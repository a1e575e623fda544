import { describe, expect, it } from "vitest";
import { CONTEXT, REQUEST, ROUTE_SERVERS } from "@/test/fixtures";
import { birdSnippet } from "./bird";

describe("the member's BIRD snippet", () => {
  const text = birdSnippet(REQUEST, ROUTE_SERVERS)!;
  it("peers with each route server in both families from the member's own addresses", () => {
    expect(text).toContain("protocol bgp ztix_rs_1_v4 {");
    expect(text).toContain("  local 192.0.2.2 as 213035;\n  neighbor 192.0.2.1 as 64999;");
    expect(text).toContain("protocol bgp ztix_rs_1_v6 {");
    expect(text).toContain("  local 2001:db8:ab::21:3035:1 as 213035;\n  neighbor 2001:db8:ab::1 as 64999;");
    expect(text).toContain("  ipv6 {");
  });
  it("exports only the member's own routes by default", () => {
    expect(text.match(/export where source = RTS_STATIC;/g)).toHaveLength(2);
  });
  it("is absent without a membership or route servers", () => {
    expect(birdSnippet({ ...REQUEST, membership: null }, ROUTE_SERVERS)).toBeNull();
    expect(birdSnippet(REQUEST, [])).toBeNull();
    expect(CONTEXT.networks).toHaveLength(1);
  });
  it("asks for the session password only when one is set, never showing it", () => {
    expect(text).not.toContain("password");
    const withPassword = birdSnippet(
      REQUEST,
      ROUTE_SERVERS.map((rs) => ({ ...rs, bgp_password_set: true })),
    )!;
    expect(withPassword.match(/ {2}password "<the session password you set>";/g)).toHaveLength(2);
  });

  it("dials a route server's own BGP port when it is not 179 (the embedded default)", () => {
    const lab = birdSnippet(REQUEST, [{ ...ROUTE_SERVERS[0]!, bgp_port: 1179 }])!;
    expect(lab).toContain("  neighbor 192.0.2.1 port 1179 as 64999;");
    expect(text).not.toContain(" port ");
  });
  it("leaves out a family the member has no address in", () => {
    const v4only = { ...REQUEST, membership: { ...REQUEST.membership!, ipv6: null } };
    expect(birdSnippet(v4only, ROUTE_SERVERS)).not.toContain("_v6");
  });
});
