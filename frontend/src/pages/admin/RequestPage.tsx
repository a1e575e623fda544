import { PowerOff, RotateCcw, ShieldCheck, X } from "lucide-react";
import * as React from "react";
import { useParams } from "react-router";
import { api, requestPath, unwrap } from "@/api/client";
import type { AuditEvent } from "@/api/types";
import { ApproveDialog } from "@/components/app/ApproveDialog";
import { ConfirmAction } from "@/components/app/ConfirmDialog";
import { Field } from "@/components/app/Field";
import { GrantLostBadge } from "@/components/app/GrantLostBadge";
import { ImportLimits } from "@/components/app/ImportLimits";
import { IrrCard } from "@/components/app/IrrCard";
import { LookingGlass } from "@/components/app/LookingGlass";
import { Mono } from "@/components/app/Mono";
import { ReceiveLimits } from "@/components/app/ReceiveLimits";
import {
  MembershipCard,
  PolicyVerdictCard,
  RequestHeader,
  RequestNotice,
  RequestSummary,
  RouteServersCard,
  Timeline,
} from "@/components/app/RequestParts";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { keys, useAdminRequest, useRequestAction } from "@/hooks/queries";
import { formatDateTime, shortId } from "@/lib/format";
import { RequestNotLoaded } from "@/pages/RequestPage";

function describeEvent(e: AuditEvent): string {
  if (e.from_status || e.to_status) return `${e.from_status ?? "—"} → ${e.to_status ?? "—"}`;
  return e.action.replace(/[._]/g, " ");
}

function eventDetails(e: AuditEvent): string | null {
  const d = e.details ?? {};
  const parts: string[] = [];
  for (const key of ["reason", "code", "system", "message", "detail", "ipv4", "ipv6", "attempt"]) {
    const value = (d as Record<string, unknown>)[key];
    if (value !== undefined && value !== null && value !== "") parts.push(`${key}: ${String(value)}`);
  }
  return parts.length ? parts.join(" · ") : null;
}

function AuditTimeline({ events }: { events: AuditEvent[] }) {
  return (
    <ol className="grid gap-3" aria-label="Audit trail">
      {[...events].reverse().map((e, i) => (
        <li
          key={e.id}
          className="stagger border-l-2 border-fog pl-3"
          style={{ "--i": Math.min(i, 12) } as React.CSSProperties}
        >
          <div className="flex flex-wrap items-baseline gap-x-2 text-sm">
            <span className="font-medium text-graphite">{describeEvent(e)}</span>
            <span className="text-xs text-slate">{e.action}</span>
          </div>
          <div className="text-xs text-slate">
            <time dateTime={e.occurred_at}>{formatDateTime(e.occurred_at)}</time> · by{" "}
            <span className="text-graphite">{e.actor}</span>
            {e.client_address ? (
              <>
                {" "}
                from <Mono>{e.client_address}</Mono>
              </>
            ) : null}
          </div>
          {eventDetails(e) ? <div className="mt-0.5 text-xs break-words text-graphite">{eventDetails(e)}</div> : null}
        </li>
      ))}
    </ol>
  );
}

/** An admin's action on a request that takes no body. */
function act(action: "retry" | "deprovision" | "keep", id: string) {
  return unwrap(api.POST(`/api/v1/admin/requests/{request_id}/${action}`, requestPath(id)));
}

function Overrides({ v4, v6 }: { v4: number | null; v6: number | null }) {
  if (v4 == null && v6 == null) return <>none (PeeringDB's hint or the default)</>;
  return (
    <>
      IPv4 {v4 ?? "not overridden"} · IPv6 {v6 ?? "not overridden"}
    </>
  );
}

export function AdminRequestPage() {
  const { id = "" } = useParams();
  const request = useAdminRequest(id);
  const key = keys.adminRequest(id);
  const also = [["admin", "queue"], keys.request(id)];
  const approve = useRequestAction({
    key,
    run: ({ id, approval }) =>
      unwrap(api.POST("/api/v1/admin/requests/{request_id}/approve", { ...requestPath(id), body: approval ?? null })),
    optimistic: "approved",
    success: "Approved: provisioning starts",
    alsoInvalidate: also,
  });
  const reject = useRequestAction({
    key,
    run: ({ id, reason }) =>
      unwrap(
        api.POST("/api/v1/admin/requests/{request_id}/reject", { ...requestPath(id), body: { reason: reason ?? "" } }),
      ),
    optimistic: "rejected",
    success: "Request rejected",
    alsoInvalidate: also,
  });
  const retry = useRequestAction({
    key,
    run: ({ id }) => act("retry", id),
    optimistic: "approved",
    success: "Retrying: provisioning starts again",
    alsoInvalidate: also,
  });
  const deprovision = useRequestAction({
    key,
    run: ({ id }) => act("deprovision", id),
    optimistic: "deprovisioning",
    success: "Deprovisioning the member",
    alsoInvalidate: also,
  });
  const keep = useRequestAction({
    key,
    run: ({ id }) => act("keep", id),
    optimistic: request.data?.status ?? "active",
    success: "Member kept",
    alsoInvalidate: also,
  });
  const busy = approve.isPending || reject.isPending || retry.isPending || deprovision.isPending || keep.isPending;
  React.useEffect(() => {
    document.title = `Admin · request ${shortId(id)} · ZT-IX`;
  }, [id]);

  if (!request.isSuccess) return <RequestNotLoaded query={request} />;
  const r = request.data;

  return (
    <>
      <RequestHeader
        request={r}
        back={{ to: "/admin/requests", label: "Request queue" }}
        actions={
          <>
            {r.status === "pending" ? (
              <>
                <ApproveDialog
                  nodeId={r.node_id}
                  asn={r.asn}
                  pending={busy}
                  onApprove={(settings) => approve.mutate({ id: r.id, approval: settings })}
                />
                <ConfirmAction
                  trigger={
                    <>
                      <X aria-hidden="true" />
                      Reject
                    </>
                  }
                  triggerVariant="outline"
                  title="Reject this request?"
                  description="The member sees your reason on their request page."
                  reasonLabel="Reason"
                  confirmLabel="Reject"
                  variant="destructive"
                  pending={busy}
                  onConfirm={(reason) => reject.mutate({ id: r.id, reason })}
                />
              </>
            ) : null}
            {r.status === "failed" ? (
              <ConfirmAction
                trigger={
                  <>
                    <RotateCcw aria-hidden="true" />
                    Retry
                  </>
                }
                title="Retry provisioning?"
                description="The request goes back to approved with a fresh attempt count."
                confirmLabel="Retry"
                pending={busy}
                onConfirm={() => retry.mutate({ id: r.id })}
              />
            ) : null}
            {r.grant_lost_at ? (
              <ConfirmAction
                trigger={
                  <>
                    <ShieldCheck aria-hidden="true" />
                    Keep member
                  </>
                }
                triggerVariant="outline"
                title="Keep this member?"
                description={
                  <>
                    Its requester no longer holds <Mono>AS{r.asn}</Mono> at PeeringDB. Keeping it clears the flag; the
                    decision is audited.
                  </>
                }
                confirmLabel="Keep member"
                pending={busy}
                onConfirm={() => keep.mutate({ id: r.id })}
              />
            ) : null}
            {r.status === "active" ? (
              <ConfirmAction
                trigger={
                  <>
                    <PowerOff aria-hidden="true" />
                    Deprovision
                  </>
                }
                triggerVariant="outline"
                title="Deprovision this member?"
                description={
                  <>
                    Node <Mono>{r.node_id}</Mono> is deauthorized, its addresses released and its sessions removed.
                  </>
                }
                confirmLabel="Deprovision"
                variant="destructive"
                pending={busy}
                onConfirm={() => deprovision.mutate({ id: r.id })}
              />
            ) : null}
          </>
        }
      />
      <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_19rem]">
        <div className="grid min-w-0 gap-6">
          <RequestNotice request={r} admin />
          <Card>
            <CardHeader>
              <CardTitle>Details</CardTitle>
            </CardHeader>
            <CardContent>
              <RequestSummary
                request={r}
                extra={
                  <>
                    <Field label="Requested by">
                      {r.created_by ?? "—"}{" "}
                      {r.grant_lost_at ? <GrantLostBadge since={formatDateTime(r.grant_lost_at)} /> : null}
                    </Field>
                    <Field label="Decided by">
                      {r.approved_by_policy ? "policy (automatic)" : (r.decided_by ?? "—")}
                    </Field>
                    <Field label="Request ID" mono>
                      {r.id}
                    </Field>
                    <Field label="Attempts">{r.attempts}</Field>
                    <Field label="Import limit override">
                      <Overrides v4={r.max_prefix_ipv4_override} v6={r.max_prefix_ipv6_override} />
                    </Field>
                    {r.approval_note ? (
                      <Field label="Approval note" className="sm:col-span-2">
                        <span className="whitespace-pre-wrap">{r.approval_note}</span>
                      </Field>
                    ) : null}
                  </>
                }
              />
            </CardContent>
          </Card>
          <PolicyVerdictCard verdict={r.policy_verdict} />
          <MembershipCard request={r} />
          <RouteServersCard request={r} />
          <LookingGlass request={r} admin />
          {r.status === "active" || r.status === "provisioning" ? <ImportLimits request={r} /> : null}
          {r.status === "active" || r.status === "provisioning" ? <IrrCard requestId={r.id} /> : null}
          {r.status === "active" || r.status === "provisioning" ? <ReceiveLimits request={r} /> : null}
        </div>
        <div className="grid h-fit gap-6">
          <Card>
            <CardHeader>
              <CardTitle>Progress</CardTitle>
            </CardHeader>
            <CardContent>
              <Timeline request={r} audit={r.audit} />
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>Audit trail</CardTitle>
              <CardDescription>Newest first; every change with who and from where.</CardDescription>
            </CardHeader>
            <CardContent>
              <AuditTimeline events={r.audit} />
            </CardContent>
          </Card>
        </div>
      </div>
    </>
  );
}
