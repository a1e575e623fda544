import { keepPreviousData, useQuery } from "@tanstack/react-query";
import * as React from "react";
import { api, unwrap } from "@/api/client";
import type { JoinRequest, LookingGlassRoute } from "@/api/types";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Mono } from "@/components/app/Mono";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input, NativeSelect } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { useRequestRouteServers } from "@/hooks/queries";

type Kind = "filtered" | "accepted" | "exported";
const KINDS: Array<[Kind, string]> = [
  ["filtered", "Filtered"],
  ["accepted", "Accepted"],
  ["exported", "Sent to you"],
];
const PAGE = 25;

function RouteRows({ routes, kind }: { routes: LookingGlassRoute[]; kind: Kind }) {
  if (routes.length === 0)
    return <p className="text-sm text-slate">{kind === "filtered" ? "No filtered routes." : "No routes."}</p>;
  return (
    <div className="overflow-hidden rounded-lg border border-line">
      <Table aria-label={`${kind} routes`}>
        <TableHeader>
          <TableRow className="hover:bg-transparent">
            <TableHead>Prefix</TableHead>
            <TableHead>AS path</TableHead>
            <TableHead className="hidden md:table-cell">Next hop</TableHead>
            <TableHead>{kind === "filtered" ? "Why filtered" : "Notes"}</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {routes.map((r) => (
            <TableRow key={`${r.prefix}-${r.from_protocol}`}>
              <TableCell>
                <Mono className="text-xs">{r.prefix}</Mono>
              </TableCell>
              <TableCell>
                <Mono className="text-xs">{r.as_path.join(" ") || "—"}</Mono>
              </TableCell>
              <TableCell className="hidden md:table-cell">
                <Mono className="text-xs">{r.next_hop ?? "—"}</Mono>
              </TableCell>
              <TableCell className="text-sm">
                {r.filtered_reasons.length ? (
                  <span className="text-danger">{r.filtered_reasons.join("; ")}</span>
                ) : (
                  <span className="flex flex-wrap gap-1">
                    {r.rpki ? <Badge tone={r.rpki === "valid" ? "ok" : "neutral"}>RPKI {r.rpki}</Badge> : null}
                    {r.blackhole ? <Badge tone="danger">Blackhole</Badge> : null}
                    {r.graceful_shutdown ? <Badge tone="warm">Graceful shutdown</Badge> : null}
                  </span>
                )}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </div>
  );
}

type Session = { requestId: string; server: string; protocol: string };

function kindsFor(admin: boolean): Array<[Kind, string]> {
  return admin ? KINDS.map(([k, label]) => [k, k === "exported" ? "Sent to the member" : label]) : KINDS;
}

/** One session's routes (filtered with the reasons, accepted, sent) and a prefix lookup;
 * ``admin`` words it for an operator looking at someone else's session. */
export function SessionLookingGlass({ session, admin = false }: { session: Session; admin?: boolean }) {
  const kinds = kindsFor(admin);
  const [kind, setKind] = React.useState<Kind>("filtered");
  const [offset, setOffset] = React.useState(0);
  const [prefix, setPrefix] = React.useState("");
  const [asked, setAsked] = React.useState<string | null>(null);
  const path = { request_id: session.requestId, server: session.server, protocol: session.protocol };
  const page = useQuery({
    queryKey: ["request", path.request_id, "looking-glass", path.server, path.protocol, kind, offset],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/requests/{request_id}/looking-glass/{server}/{protocol}/routes", {
          params: { path, query: { kind, offset, limit: PAGE } },
        }),
      ),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  const lookup = useQuery({
    queryKey: ["request", path.request_id, "looking-glass", path.server, path.protocol, "lookup", asked],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/requests/{request_id}/looking-glass/{server}/{protocol}/lookup", {
          params: { path, query: { prefix: asked ?? "" } },
        }),
      ),
    enabled: Boolean(asked),
    staleTime: 30_000,
  });
  const total = page.data?.total ?? 0;
  const fieldId = `lg-prefix-${path.server}-${path.protocol}`;

  return (
    <div className="grid min-w-0 gap-4">
      <div className="flex flex-wrap items-end gap-3">
        <div className="flex flex-wrap gap-1" role="tablist" aria-label="Which routes">
          {kinds.map(([k, label]) => (
            <Button
              key={k}
              role="tab"
              aria-selected={kind === k}
              variant={kind === k ? "secondary" : "ghost"}
              onClick={() => {
                setKind(k);
                setOffset(0);
              }}
            >
              {label}
            </Button>
          ))}
        </div>
      </div>
      {page.isPending ? (
        <Skeleton className="h-24 w-full" />
      ) : page.isError ? (
        <ErrorPanel error={page.error} onRetry={() => void page.refetch()} />
      ) : (
        <>
          <RouteRows routes={page.data.routes} kind={kind} />
          {total > PAGE ? (
            <div className="flex items-center gap-3 text-sm text-slate">
              <Button variant="outline" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                Previous
              </Button>
              <span>
                {offset + 1}–{Math.min(offset + PAGE, total)} of {total}
              </span>
              <Button variant="outline" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
                Next
              </Button>
            </div>
          ) : null}
        </>
      )}
      <form
        className="flex flex-wrap items-end gap-3"
        aria-label="Prefix lookup"
        onSubmit={(e) => {
          e.preventDefault();
          if (prefix.trim()) setAsked(prefix.trim());
        }}
      >
        <div className="grid gap-1.5">
          <Label htmlFor={fieldId}>Look up a prefix</Label>
          <Input
            id={fieldId}
            className="w-64 max-w-full font-mono"
            placeholder={path.protocol.endsWith("_v6") ? "2001:db8::/32" : "192.0.2.0/24"}
            value={prefix}
            onChange={(e) => setPrefix(e.target.value)}
          />
        </div>
        <Button type="submit" variant="outline">
          Look up
        </Button>
      </form>
      {asked && lookup.isError ? <ErrorPanel error={lookup.error} onRetry={() => void lookup.refetch()} /> : null}
      {asked && lookup.data ? (
        <section className="grid gap-3" aria-label={`Lookup of ${asked}`}>
          {kinds.map(([k, label]) => (
            <div key={k} className="grid gap-1.5">
              <h3 className="text-sm font-semibold text-teal-deep">{label}</h3>
              <RouteRows routes={lookup.data[k]} kind={k} />
            </div>
          ))}
        </section>
      ) : null}
    </div>
  );
}

/** The member looking glass: what each route server did with the member's routes (``admin``:
 * worded for an operator on the admin request page). */
export function LookingGlass({ request, admin = false }: { request: JoinRequest; admin?: boolean }) {
  const servers = useRequestRouteServers(request.id, request.status);
  const sessions = (servers.data ?? []).flatMap((rs) =>
    rs.sessions.map((s) => ({ requestId: request.id, server: rs.name, protocol: s.protocol })),
  );
  const [choice, setChoice] = React.useState(0);
  if (request.status !== "active" || sessions.length === 0) return null;
  const selected = sessions[Math.min(choice, sessions.length - 1)];

  return (
    <Card>
      <CardHeader>
        <CardTitle>Looking glass</CardTitle>
        <CardDescription>
          {admin
            ? "What the route servers did with this member's routes: accepted, filtered (with the reason) and what they send the member."
            : "What the route servers did with your routes: accepted, filtered (with the reason) and what they send you."}{" "}
          Answers are up to 30 seconds old.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <div className="grid gap-1.5 justify-self-start">
          <Label htmlFor="lg-session">Session</Label>
          <NativeSelect id="lg-session" value={String(choice)} onChange={(e) => setChoice(Number(e.target.value))}>
            {sessions.map((s, i) => (
              <option key={`${s.server}/${s.protocol}`} value={i}>
                {s.server} · {s.protocol.endsWith("_v6") ? "IPv6" : "IPv4"}
              </option>
            ))}
          </NativeSelect>
        </div>
        <SessionLookingGlass key={`${selected.server}/${selected.protocol}`} session={selected} admin={admin} />
      </CardContent>
    </Card>
  );
}
