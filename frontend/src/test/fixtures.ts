import type { JoinRequest, Me, MemberRouteServer, OnboardingContext } from "@/api/types";

/** A member who logged in with PeeringDB and holds one ASN. */
export const OPERATOR: Me = {
  id: 1,
  username: "ada",
  display_name: "Ada",
  email: null,
  role: "operator",
  login_method: "peeringdb",
  asns: [{ asn: 213035, source: "peeringdb", network_name: "Example", peeringdb_perms: 15 }],
  csrf_token: "csrf-1",
};

export const REQUEST: JoinRequest = {
  id: "5f0c3a4e-0000-4000-8000-000000000001",
  asn: 213035,
  zt_network_id: "8056c2e21c000001",
  network_name: "ZT-IX Frankfurt",
  node_id: "1a2b3c4d5e",
  status: "active",
  notes: "",
  created_at: "2026-11-20T10:00:00Z",
  updated_at: "2026-11-20T10:05:00Z",
  decided_at: "2026-11-20T10:01:00Z",
  decision_reason: null,
  approved_by_policy: false,
  attempts: 1,
  next_attempt_at: null,
  last_error: null,
  policy: null,
  membership: {
    node_id: "1a2b3c4d5e",
    zt_network_id: "8056c2e21c000001",
    authorized: true,
    ipv4: "192.0.2.2",
    ipv6: "2001:db8:ab::21:3035:1",
    provider: "controller",
    last_synced_at: "2026-11-20T10:04:00Z",
    join_command: "zerotier-cli join 8056c2e21c000001",
  },
};

export const ROUTE_SERVERS: MemberRouteServer[] = [
  {
    name: "rs-1",
    asn: 64999,
    ipv4: "192.0.2.1",
    ipv6: "2001:db8:ab::1",
    bgp_port: 179,
    applied: true,
    max_prefix_ipv4: 100,
    max_prefix_ipv6: 50,
    max_prefix_source: "default",
    receive_limit_ipv4: 200,
    receive_limit_ipv6: 100,
    bgp_password_set: false,
    sessions_ok: true,
    sessions: [],
  },
];

export const CONTEXT: OnboardingContext = {
  asns: [
    { asn: 213035, source: "peeringdb", network_name: "Example Networks", peeringdb_perms: 15 },
    { asn: 13335, source: "local", network_name: "Other", peeringdb_perms: null },
  ],
  networks: [
    {
      zt_network_id: "8056c2e21c000001",
      name: "ZT-IX Frankfurt",
      description: "",
      ipv4_prefix: "192.0.2.0/24",
      ipv6_prefix: "2001:db8:ab::/64",
    },
  ],
  approval_mode: "manual_admin",
  allow_private_asns: false,
};

export function jsonResponse(body: unknown, status = 200, type = "application/json"): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": type },
  });
}

export function problem(code: string, status: number, extra: Record<string, unknown> = {}): Response {
  return jsonResponse(
    { type: `/api/v1/problems/${code}`, title: code, status, detail: `${code} detail`, code, ...extra },
    status,
    "application/problem+json",
  );
}
