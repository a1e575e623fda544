/** The member's side of the route-server sessions, as a BIRD 2 snippet to paste. */
import type { JoinRequest, MemberRouteServer } from "@/api/types";

function protocolName(server: string, family: 4 | 6): string {
  const clean = server.toLowerCase().replace(/[^a-z0-9]/g, "_");
  return `ztix_${clean}_v${family}`;
}

export function birdSnippet(request: JoinRequest, servers: MemberRouteServer[]): string | null {
  const membership = request.membership;
  if (!membership || servers.length === 0) return null;
  const lines: string[] = [
    `# ${request.network_name} (${request.zt_network_id}): route-server sessions`,
    `# for AS${request.asn}, node ${request.node_id}. BIRD 2.0.12 or later.`,
    "# Export only your own prefixes: adapt the export filter to your policy.",
  ];
  for (const rs of servers) {
    const families: Array<[4 | 6, string | null | undefined, string]> = [
      [4, membership.ipv4, rs.ipv4],
      [6, membership.ipv6, rs.ipv6],
    ];
    for (const [family, local, neighbor] of families) {
      if (!local) continue;
      lines.push(
        "",
        `protocol bgp ${protocolName(rs.name, family)} {`,
        `  description "ZT-IX route server ${rs.name} (IPv${family})";`,
        `  local ${local} as ${request.asn};`,
        `  neighbor ${neighbor}${rs.bgp_port === 179 ? "" : ` port ${rs.bgp_port}`} as ${rs.asn};`,
        ...(rs.bgp_password_set ? ['  password "<the session password you set>";'] : []),
        `  ipv${family} {`,
        "    import all;",
        "    export where source = RTS_STATIC;",
        "  };",
        "}",
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
