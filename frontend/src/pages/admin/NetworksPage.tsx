import { useQuery } from "@tanstack/react-query";
import * as React from "react";
import { api, unwrap } from "@/api/client";
import type { AdminNetwork } from "@/api/types";
import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Field } from "@/components/app/Field";
import { Mono } from "@/components/app/Mono";
import { PageHeader } from "@/components/app/PageHeader";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { cn } from "@/lib/utils";

type Layer2 = AdminNetwork["desired"];
type Usage = AdminNetwork["ipv4"];

export const NETWORKS_KEY = ["admin", "networks"] as const;

/** A count as a person reads it; beyond what a JavaScript number holds exactly (an IPv6 /64),
 *  the power of two it is close to. */
export function formatCount(n: number): string {
  if (n > Number.MAX_SAFE_INTEGER) return `≈ 2^${Math.round(Math.log2(n))}`;
  return n.toLocaleString("en-GB");
}

function yesNo(value: boolean | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return value ? "yes" : "no";
}

function autoAssign(l2: Layer2): string {
  const on = [l2.v4_auto_assign ? "IPv4" : null, ...Object.entries(l2.v6_auto_assign).map(([k, v]) => (v ? k : null))];
  const names = on.filter(Boolean);
  return names.length ? names.join(", ") : "off";
}

/** The settings shown side by side, each with the controller fields whose drift it shows. */
const ROWS: Array<{ label: string; fields: string[]; show: (l2: Layer2) => React.ReactNode }> = [
  { label: "Private", fields: ["private"], show: (l2) => yesNo(l2.private) },
  { label: "MTU", fields: ["mtu"], show: (l2) => l2.mtu ?? "—" },
  { label: "Multicast limit", fields: ["multicastLimit"], show: (l2) => l2.multicast_limit ?? "—" },
  {
    label: "Managed routes",
    fields: ["routes"],
    show: (l2) => (l2.routes.length ? l2.routes.map((r) => <div key={r}>{r}</div>) : "none"),
  },
  { label: "ZeroTier auto-assign", fields: ["v4AssignMode", "v6AssignMode"], show: autoAssign },
  {
    label: "Frames allowed",
    fields: ["rules"],
    show: (l2) =>
      l2.ethertypes_allowed ? l2.ethertypes_allowed.join(", ") : `not the IX rules (${l2.rule_count} rules)`,
  },
];

function Layer2Table({ net }: { net: AdminNetwork }) {
  const drifted = new Set(net.drift.map((c) => c.field));
  const shown = new Set(ROWS.flatMap((r) => r.fields));
  const other = net.drift.filter((c) => !shown.has(c.field));
  return (
    <div className="grid gap-2">
      <div className="overflow-x-auto rounded-lg border border-line">
        <Table>
          <caption className="sr-only">Layer-2 settings of {net.name}: declared and on the controller</caption>
          <TableHeader>
            <TableRow>
              <TableHead scope="col">Setting</TableHead>
              <TableHead scope="col">Declared</TableHead>
              <TableHead scope="col">On the controller</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {ROWS.map((row) => {
              const drift = row.fields.some((f) => drifted.has(f));
              return (
                <TableRow key={row.label} className={cn(drift && "bg-clay-soft")} data-drift={drift || undefined}>
                  <TableHead scope="row" className="text-sm font-medium tracking-normal text-graphite normal-case">
                    {row.label}
                    {drift ? (
                      <Badge tone="warm" className="ml-2">
                        differs
                      </Badge>
                    ) : null}
                  </TableHead>
                  <TableCell className="font-mono text-[0.8125rem]">{row.show(net.desired)}</TableCell>
                  <TableCell className="font-mono text-[0.8125rem]">
                    {net.actual ? row.show(net.actual) : "—"}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      </div>
      {other.length ? (
        <ul className="grid gap-1 text-sm">
          {other.map((c) => (
            <li key={c.field} className="break-words">
              <Mono>{c.field}</Mono> differs: has <Mono className="text-xs">{JSON.stringify(c.have)}</Mono>, needs{" "}
              <Mono className="text-xs">{JSON.stringify(c.want)}</Mono>
            </li>
          ))}
        </ul>
      ) : null}
      {net.drift.length ? (
        <p className="text-sm text-[#6b3d24]">
          <Mono>ztix controller preflight</Mono> sets the declared values on the controller.
        </p>
      ) : null}
    </div>
  );
}

function UsageField({ label, usage }: { label: string; usage: Usage }) {
  const taken = usage.total > 0 ? (usage.used + usage.reserved) / usage.total : 0;
  return (
    <Field label={label}>
      <div className="font-mono text-[0.8125rem] text-slate">{usage.prefix}</div>
      <div>
        <span className="font-semibold">{formatCount(usage.used)}</span> used ·{" "}
        <span className="font-semibold">{formatCount(usage.free)}</span> free
      </div>
      <div className="text-xs text-slate">
        {formatCount(usage.reserved)} reserved of {formatCount(usage.total)}
      </div>
      <div className="mt-1 h-1.5 overflow-hidden rounded-full bg-soft" aria-hidden="true">
        <div
          className="h-full bg-harbor"
          style={{ width: `${Math.min(100, Math.max(taken * 100, taken > 0 ? 1 : 0))}%` }}
        />
      </div>
    </Field>
  );
}

function NetworkCard({ net }: { net: AdminNetwork }) {
  return (
    <Card>
      <CardHeader className="flex-row flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <CardTitle as="h2">{net.name}</CardTitle>
          <p className="font-mono text-sm break-all text-slate">{net.zt_network_id ?? "ID not known yet"}</p>
          {net.description ? <p className="text-sm text-slate">{net.description}</p> : null}
        </div>
        <div className="flex flex-wrap gap-2">
          {net.synced ? null : <Badge tone="danger">Not in the database</Badge>}
          {!net.actual ? (
            <Badge tone="neutral">Not read</Badge>
          ) : net.drift.length ? (
            <Badge tone="warm">Drift in {net.drift.length}</Badge>
          ) : (
            <Badge tone="ok">In shape</Badge>
          )}
        </div>
      </CardHeader>
      <CardContent className="grid gap-5">
        <dl className="grid grid-cols-1 gap-x-6 gap-y-4 sm:grid-cols-3">
          <Field label="Members">
            <span className="text-lg font-semibold">{net.members}</span>{" "}
            <span className="text-xs text-slate">
              active
              {net.controller_members != null ? ` · ${net.controller_members} on the controller` : ""}
            </span>
          </Field>
          <UsageField label="IPv4 addresses" usage={net.ipv4} />
          <UsageField label="IPv6 addresses" usage={net.ipv6} />
        </dl>
        {net.controller_error ? (
          <p className="text-sm text-danger" role="note">
            Settings on the controller not read: {net.controller_error}
          </p>
        ) : null}
        <Layer2Table net={net} />
        <section aria-label={`Route servers on ${net.name}`} className="grid gap-2">
          <h3 className="text-sm font-semibold text-teal-deep">Route servers</h3>
          {net.route_servers.length === 0 ? (
            <p className="text-sm text-slate">None configured on this network.</p>
          ) : (
            <ul className="grid gap-2 sm:grid-cols-2">
              {net.route_servers.map((rs) => (
                <li key={rs.name} className="rounded-md border border-line p-2 text-sm">
                  <div className="flex flex-wrap items-center gap-2">
                    <span className="font-medium">{rs.name}</span>
                    <Badge tone={rs.enabled ? "ok" : "neutral"}>{rs.enabled ? "enabled" : "disabled"}</Badge>
                    <span className="text-xs text-slate">
                      AS{rs.asn} · {rs.transport}
                    </span>
                  </div>
                  <div className="font-mono text-[0.8125rem] break-all text-slate">
                    {rs.ipv4} · {rs.ipv6}
                    {rs.node_id ? ` · node ${rs.node_id}` : ""}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </section>
      </CardContent>
    </Card>
  );
}

export function AdminNetworksPage() {
  const networks = useQuery({
    queryKey: NETWORKS_KEY,
    queryFn: () => unwrap(api.GET("/api/v1/admin/networks")),
  });
  React.useEffect(() => {
    document.title = "Networks · ZT-IX";
  }, []);
  return (
    <>
      <PageHeader
        eyebrow="Operations"
        title="Networks"
        description="Each IX network of the config: its layer-2 settings as declared and as the controller has them, members, address usage and route servers."
      />
      {networks.isError ? <ErrorPanel error={networks.error} onRetry={() => void networks.refetch()} /> : null}
      {networks.isPending ? (
        <Skeleton className="h-72 w-full" />
      ) : networks.data && networks.data.length > 0 ? (
        <div className="grid gap-6">
          {networks.data.map((net) => (
            <NetworkCard key={net.zt_network_id ?? net.name} net={net} />
          ))}
        </div>
      ) : networks.data ? (
        <Empty title="No networks are declared" />
      ) : null}
    </>
  );
}
