import * as React from "react";
import { Link } from "react-router";
import type { RouteServer } from "@/api/types";
import { DrainControl } from "@/components/app/DrainControl";
import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Field } from "@/components/app/Field";
import { SessionLookingGlass } from "@/components/app/LookingGlass";
import { Mono } from "@/components/app/Mono";
import { PageHeader } from "@/components/app/PageHeader";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { useRouteServers } from "@/hooks/queries";
import { formatDateTime, formatRelative } from "@/lib/format";

function SyncBadge({ rs }: { rs: RouteServer }) {
  if (!rs.enabled) return <Badge tone="neutral">Disabled</Badge>;
  const sync = rs.sync;
  if (!sync?.last_sync_at) return <Badge tone="warm">Never synced</Badge>;
  if (sync.last_result === "failed") return <Badge tone="danger">Last sync failed</Badge>;
  if (!sync.in_sync) return <Badge tone="blue">Sync pending</Badge>;
  return <Badge tone="ok">In sync</Badge>;
}

function ServerCard({ rs }: { rs: RouteServer }) {
  const sync = rs.sync;
  const sessions = rs.sessions ?? [];
  const [glass, setGlass] = React.useState<string | null>(null);
  const open = sessions.find((s) => s.protocol === glass && s.request_id);
  return (
    <Card>
      <CardHeader className="flex-row flex-wrap items-center justify-between gap-2">
        <div>
          <CardTitle>{rs.name}</CardTitle>
          <p className="text-sm text-slate">
            {rs.transport === "ssh" ? "over SSH to" : "local BIRD on"} <Mono>{rs.host}</Mono> · pair order{" "}
            {rs.pair_order}
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          {rs.drained ? (
            <Badge tone="warm" title="Every export carries GRACEFUL_SHUTDOWN (65535:0)">
              Drained
            </Badge>
          ) : null}
          <SyncBadge rs={rs} />
          <DrainControl rs={rs} />
        </div>
      </CardHeader>
      <CardContent className="grid gap-5">
        <dl className="grid grid-cols-2 gap-x-6 gap-y-3 md:grid-cols-4">
          <Field label="ASN" mono>
            AS{rs.asn}
          </Field>
          <Field label="IPv4" mono>
            {rs.ipv4}
          </Field>
          <Field label="IPv6" mono>
            {rs.ipv6}
          </Field>
          <Field label="Network" mono>
            {rs.network}
          </Field>
          <Field label="Last sync">
            {sync?.last_sync_at ? (
              <time dateTime={sync.last_sync_at} title={formatDateTime(sync.last_sync_at)}>
                {formatRelative(sync.last_sync_at)}
              </time>
            ) : (
              "never"
            )}
          </Field>
          <Field label="Result">
            {sync?.last_result ?? "—"}
            {sync?.last_duration_ms != null ? ` (${sync.last_duration_ms} ms)` : ""}
          </Field>
          <Field label="Peers configured">{sync?.peers ?? 0}</Field>
          <Field label="BIRD reloads">{sync?.reconfigure_count ?? 0}</Field>
        </dl>
        {rs.drained ? (
          <p role="status" className="rounded-lg border border-[#e8d3c4] bg-clay-soft p-3 text-sm text-[#7a4529]">
            Drained for maintenance
            {sync?.drained_by ? ` by ${sync.drained_by}` : ""}
            {sync?.drained_at ? `, ${formatRelative(sync.drained_at)}` : ""}: every route it sends carries{" "}
            <Mono>65535:0</Mono> (GRACEFUL_SHUTDOWN), so members prefer the other route server.
            {sync && !sync.in_sync ? " Being applied." : ""}
          </p>
        ) : null}
        {sync?.last_result === "failed" ? (
          <div role="alert" className="rounded-lg border border-[#ecc3bc] bg-danger-soft p-3 text-sm">
            <p className="font-medium text-danger">
              Failed at stage <Mono>{sync.last_stage ?? "unknown"}</Mono>
              {sync.last_exit_status != null ? <> (exit status {sync.last_exit_status})</> : null}
            </p>
            {sync.last_output ? (
              <pre className="mt-2 max-h-40 overflow-auto text-xs whitespace-pre-wrap text-graphite">
                {sync.last_output}
              </pre>
            ) : null}
          </div>
        ) : null}
        <div className="min-w-0">
          <h3 className="mb-2 text-sm font-semibold text-teal-deep">BGP sessions</h3>
          {rs.sessions_ok === false ? (
            <p className="text-sm text-[#6b3d24]">Cannot read sessions: {rs.sessions_error ?? "no answer"}</p>
          ) : sessions.length === 0 ? (
            <p className="text-sm text-slate">No member sessions on this server yet.</p>
          ) : (
            <div className="overflow-hidden rounded-lg border border-line">
              <Table aria-label={`BGP sessions on ${rs.name}`}>
                <TableHeader>
                  <TableRow className="hover:bg-transparent">
                    <TableHead>Peer</TableHead>
                    <TableHead className="hidden sm:table-cell">Neighbor</TableHead>
                    <TableHead>State</TableHead>
                    <TableHead className="hidden sm:table-cell">Since</TableHead>
                    <TableHead className="hidden md:table-cell">Routes</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {sessions.map((s, i) => (
                    <TableRow
                      key={s.protocol}
                      className="stagger"
                      style={{ "--i": Math.min(i, 15) } as React.CSSProperties}
                    >
                      <TableCell>
                        <Mono className="text-xs">{s.protocol}</Mono>
                        {s.neighbor_as ? <div className="font-mono text-xs text-slate">AS{s.neighbor_as}</div> : null}
                        {s.request_id ? (
                          <Button
                            className="mt-1.5"
                            variant={glass === s.protocol ? "secondary" : "outline"}
                            size="sm"
                            aria-expanded={glass === s.protocol}
                            aria-controls={`lg-${rs.name}`}
                            aria-label={`Routes of ${s.protocol}`}
                            onClick={() => setGlass(glass === s.protocol ? null : s.protocol)}
                          >
                            Routes
                          </Button>
                        ) : null}
                      </TableCell>
                      <TableCell className="hidden sm:table-cell">
                        <Mono className="text-xs">{s.neighbor_address ?? "—"}</Mono>
                      </TableCell>
                      <TableCell>
                        <Badge tone={s.bgp_state === "Established" ? "ok" : s.state === "down" ? "danger" : "warm"}>
                          {s.bgp_state ?? s.state}
                        </Badge>
                        {s.last_error ? <div className="mt-1 text-xs text-danger">{s.last_error}</div> : null}
                      </TableCell>
                      <TableCell className="hidden text-slate sm:table-cell">
                        {s.since ? formatRelative(s.since) : "—"}
                      </TableCell>
                      <TableCell className="hidden text-slate md:table-cell">
                        {s.imported} in · {s.filtered} filtered · {s.exported} out
                        {s.import_limit ? ` · limit ${s.import_limit}` : ""}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </div>
          )}
        </div>
        {open?.request_id ? (
          <section id={`lg-${rs.name}`} aria-label={`Looking glass of ${open.protocol}`} className="grid min-w-0 gap-3">
            <div className="flex flex-wrap items-baseline justify-between gap-2">
              <h3 className="text-sm font-semibold text-teal-deep">
                Looking glass · <Mono>{open.protocol}</Mono>
              </h3>
              <Link to={`/admin/requests/${open.request_id}`} className="text-sm text-harbor hover:underline">
                Open the member's request
              </Link>
            </div>
            <p className="text-sm text-slate">
              What {rs.name} did with this member's routes ({open.filtered} filtered, {open.imported} accepted) and what
              it sends the member. Answers are up to 30 seconds old.
            </p>
            <SessionLookingGlass
              key={open.protocol}
              admin
              session={{ requestId: open.request_id, server: rs.name, protocol: open.protocol }}
            />
          </section>
        ) : null}
      </CardContent>
    </Card>
  );
}

export function AdminRouteServersPage() {
  const servers = useRouteServers();
  React.useEffect(() => {
    document.title = "Route servers · ZT-IX";
  }, []);
  return (
    <>
      <PageHeader
        eyebrow="Operations"
        title="Route servers"
        description="Each BIRD route server's last configuration sync and its members' BGP sessions. Servers of a pair are reconfigured one after the other."
      />
      {servers.isPending ? (
        <Skeleton className="h-72 w-full" />
      ) : servers.isError ? (
        <ErrorPanel error={servers.error} onRetry={() => void servers.refetch()} />
      ) : servers.data.length === 0 ? (
        <Empty title="No route servers are configured">
          <p>
            Members go active as soon as ZeroTier admits them. Add servers under <Mono>routeservers.servers</Mono> in
            the runtime config.
          </p>
        </Empty>
      ) : (
        <div className="grid gap-6">
          {servers.data.map((rs) => (
            <ServerCard key={rs.name} rs={rs} />
          ))}
        </div>
      )}
    </>
  );
}
