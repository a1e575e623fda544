import { CheckCircle2, CircleAlert, XCircle } from "lucide-react";
import * as React from "react";
import type { ControllerState } from "@/api/types";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Field } from "@/components/app/Field";
import { Mono } from "@/components/app/Mono";
import { PageHeader } from "@/components/app/PageHeader";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { useController } from "@/hooks/queries";
import { formatDateTime, formatRelative } from "@/lib/format";
import { cn } from "@/lib/utils";

type Check = ControllerState["checks"][number];
type NetworkState = ControllerState["networks"][number];

const CHECK_ICON = { pass: CheckCircle2, warn: CircleAlert, fail: XCircle } as const;
const CHECK_TONE = { pass: "text-ok", warn: "text-clay", fail: "text-danger" } as const;

function CheckRow({ check }: { check: Check }) {
  const Icon = CHECK_ICON[check.status];
  return (
    <li className="flex gap-3 py-2.5">
      <Icon className={cn("mt-0.5 size-4 shrink-0", CHECK_TONE[check.status])} aria-hidden="true" />
      <div className="min-w-0">
        <div className="text-sm font-medium text-graphite">
          {check.name} <span className="sr-only">: {check.status}</span>
        </div>
        <div className="text-sm break-words text-slate">{check.detail}</div>
      </div>
    </li>
  );
}

function yesNo(value: boolean | null | undefined, good: boolean) {
  if (value === null || value === undefined) return <Badge tone="neutral">unknown</Badge>;
  return <Badge tone={value === good ? "ok" : "danger"}>{value ? "yes" : "no"}</Badge>;
}

function NetworkCard({ net }: { net: NetworkState }) {
  const l2 = net.layer2;
  const autoAssign = l2 ? [l2.v4_auto_assign, ...Object.values(l2.v6_auto_assign)].some(Boolean) : null;
  return (
    <Card>
      <CardHeader className="flex-row flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <CardTitle as="h3">{net.name}</CardTitle>
          <p className="font-mono text-sm break-all text-slate">{net.zt_network_id ?? "ID not known yet"}</p>
        </div>
        {!net.present ? (
          <Badge tone="danger">Missing</Badge>
        ) : net.drift.length ? (
          <Badge tone="warm">Drift in {net.drift.length}</Badge>
        ) : (
          <Badge tone="ok">IX settings</Badge>
        )}
      </CardHeader>
      <CardContent className="grid gap-4">
        {net.error ? <p className="text-sm text-danger">{net.error}</p> : null}
        <dl className="grid grid-cols-1 gap-x-6 gap-y-3 sm:grid-cols-2 2xl:grid-cols-4">
          <Field label="IPv4 prefix" mono>
            {net.ipv4_prefix}
          </Field>
          <Field label="IPv6 prefix" mono>
            {net.ipv6_prefix}
          </Field>
          <Field label="Members">{net.members ?? "—"}</Field>
          <Field label="Private">{yesNo(l2?.private, true)}</Field>
          <Field label="MTU">
            {l2?.mtu != null ? <Badge tone={l2.mtu === 1500 ? "ok" : "danger"}>{l2.mtu}</Badge> : "—"}
          </Field>
          <Field label="ZeroTier auto-assign">{autoAssign === null ? "—" : yesNo(autoAssign, false)}</Field>
          <Field label="Managed routes" mono>
            {l2?.routes.length ? l2.routes.map((r) => <div key={r}>{r}</div>) : "none"}
          </Field>
          <Field label="Frames allowed">
            {l2
              ? l2.ethertypes_allowed
                ? l2.ethertypes_allowed.join(", ")
                : `not the IX rules (${l2.rule_count} rules)`
              : "—"}
          </Field>
        </dl>
        {net.drift.length ? (
          <div className="rounded-lg border border-[#e8d3c4] bg-clay-soft p-3 text-sm">
            <p className="font-medium text-[#6b3d24]">
              Layer-2 drift: <Mono>ztix controller preflight</Mono> corrects it.
            </p>
            <ul className="mt-1 grid gap-1">
              {net.drift.map((c) => (
                <li key={c.field} className="break-words">
                  <Mono>{c.field}</Mono>: has <Mono className="text-xs">{JSON.stringify(c.have)}</Mono>, needs{" "}
                  <Mono className="text-xs">{JSON.stringify(c.want)}</Mono>
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </CardContent>
    </Card>
  );
}

export function AdminControllerPage() {
  const state = useController();
  React.useEffect(() => {
    document.title = "Controller · ZT-IX";
  }, []);
  if (state.isPending)
    return (
      <>
        <PageHeader eyebrow="Operations" title="ZeroTier controller" />
        <Skeleton className="h-72 w-full" />
      </>
    );
  if (state.isError)
    return (
      <>
        <PageHeader eyebrow="Operations" title="ZeroTier controller" />
        <ErrorPanel error={state.error} onRetry={() => void state.refetch()} />
      </>
    );
  const s = state.data;
  const drift = s.membership_drift;
  return (
    <>
      <PageHeader
        eyebrow="Operations"
        title="ZeroTier controller"
        description="Readiness, the IX networks and their layer-2 settings, members that differ from ZT-IX's records, and backups. Run lifecycle steps with `ztix controller …`."
      />
      <div
        role="status"
        className={cn(
          "mb-6 flex flex-wrap items-center gap-3 rounded-xl border p-4 shadow-soft",
          s.ready ? "border-[#bcd9cd] bg-ok-soft" : "border-[#ecc3bc] bg-danger-soft",
        )}
      >
        {s.ready ? (
          <CheckCircle2 className="size-5 text-ok" aria-hidden="true" />
        ) : (
          <XCircle className="size-5 text-danger" aria-hidden="true" />
        )}
        <div className="min-w-0 flex-1">
          <p className={cn("font-semibold", s.ready ? "text-ok" : "text-danger")}>{s.ready ? "Ready" : "Not ready"}</p>
          <p className="text-sm break-words text-graphite">{s.summary}</p>
        </div>
        <span className="text-xs text-slate">checked {formatRelative(s.checked_at)}</span>
      </div>

      <div className="grid items-start gap-6 lg:grid-cols-[minmax(0,1fr)_20rem]">
        <div className="grid min-w-0 content-start gap-6">
          <section aria-labelledby="networks-h" className="grid min-w-0 content-start gap-4">
            <h2 id="networks-h" className="text-lg font-semibold text-teal-deep">
              IX networks
            </h2>
            {s.networks.length === 0 ? <p className="text-sm text-slate">No networks are declared.</p> : null}
            {s.networks.map((n) => (
              <NetworkCard key={n.zt_network_id ?? n.name} net={n} />
            ))}
          </section>
          <Card>
            <CardHeader>
              <CardTitle>Membership drift</CardTitle>
              <CardDescription>
                Members the controller has that ZT-IX does not know, or that differ from ZT-IX's records.
              </CardDescription>
            </CardHeader>
            <CardContent>
              {s.membership_drift_error ? (
                <p className="text-sm text-danger">Could not compare: {s.membership_drift_error}</p>
              ) : !drift ? (
                <p className="text-sm text-slate">Not compared: the controller is not reachable.</p>
              ) : drift.ok ? (
                <p className="text-sm text-graphite">
                  <CheckCircle2 className="mr-1 inline size-4 text-ok" aria-hidden="true" />
                  No drift: {drift.members_checked} members on {drift.networks_checked} networks match.
                </p>
              ) : (
                <ul className="grid gap-2 text-sm">
                  {drift.differences.map((d, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: a difference has no id and one node may differ twice
                    <li key={`${d.network_id}-${d.node_id}-${i}`} className="rounded-md border border-line p-2">
                      <Badge tone="warm">{d.kind.replace(/_/g, " ")}</Badge>{" "}
                      <Mono className="text-xs">{d.network_id}</Mono>
                      {d.node_id ? (
                        <>
                          {" "}
                          · node <Mono className="text-xs">{d.node_id}</Mono>
                        </>
                      ) : null}
                      <div className="mt-1 text-slate">{d.detail}</div>
                    </li>
                  ))}
                </ul>
              )}
            </CardContent>
          </Card>
        </div>
        <div className="grid h-fit gap-6">
          <Card>
            <CardHeader>
              <CardTitle>Controller</CardTitle>
            </CardHeader>
            <CardContent>
              <dl className="grid gap-3">
                <Field label="API" mono>
                  {s.url ?? "ZeroTier Central"}
                </Field>
                <Field label="Address" mono>
                  {s.address ?? "—"}
                </Field>
                <Field label="Version" mono>
                  {s.version ?? "—"}
                </Field>
                <Field label="Online">
                  {s.online === null || s.online === undefined ? "—" : s.online ? "yes" : "no"}
                </Field>
              </dl>
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>Readiness checks</CardTitle>
            </CardHeader>
            <CardContent>
              <ul className="divide-y divide-line">
                {s.checks.map((c) => (
                  <CheckRow key={c.name} check={c} />
                ))}
              </ul>
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>Last backup</CardTitle>
            </CardHeader>
            <CardContent className="text-sm">
              {s.backups.last ? (
                <dl className="grid gap-3">
                  <Field label="When">
                    {s.backups.last.created_at ? (
                      <>
                        {formatDateTime(s.backups.last.created_at)}{" "}
                        <span className="text-slate">({formatRelative(s.backups.last.created_at)})</span>
                      </>
                    ) : (
                      "—"
                    )}
                  </Field>
                  <Field label="Archive" mono>
                    {s.backups.last.name}
                  </Field>
                  <Field label="Size">
                    {(s.backups.last.size_bytes / 1024).toFixed(1)} KiB · {s.backups.count} kept
                  </Field>
                </dl>
              ) : (
                <p className="text-[#6b3d24]">
                  No backup in <Mono>{s.backups.directory}</Mono>. Run <Mono>ztix controller backup</Mono>: losing the
                  controller's identity loses every network ID.
                </p>
              )}
            </CardContent>
          </Card>
        </div>
      </div>
    </>
  );
}
