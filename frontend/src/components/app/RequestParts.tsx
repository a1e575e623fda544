/** The parts of a request page that members and admins both see. */
import { AlertTriangle, ArrowLeft, CheckCircle2, Circle, CircleDot, XCircle } from "lucide-react";
import type * as React from "react";
import { Link } from "react-router";
import type { AdminJoinRequestDetail, AuditEvent, BgpSession, JoinRequest, MemberRouteServer } from "@/api/types";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { useRequestRouteServers } from "@/hooks/queries";
import { birdSnippet } from "@/lib/bird";
import { describeCode } from "@/lib/errors";
import { formatDateTime, formatRelative, shortId } from "@/lib/format";
import { STATUS } from "@/lib/status";
import { type StepState, timelineSteps } from "@/lib/timeline";
import { cn } from "@/lib/utils";
import { CodeBlock } from "./CodeBlock";
import { CopyButton } from "./CopyButton";
import { ErrorPanel } from "./ErrorPanel";
import { Field } from "./Field";
import { Mono } from "./Mono";
import { PageHeader } from "./PageHeader";
import { StatusBadge } from "./StatusBadge";

const STEP_ICON: Record<StepState, React.ComponentType<{ className?: string }>> = {
  done: CheckCircle2,
  current: CircleDot,
  todo: Circle,
  failed: XCircle,
  stopped: Circle,
};

const STEP_STYLE: Record<StepState, string> = {
  done: "text-ok",
  current: "text-harbor motion-safe:animate-pulse",
  todo: "text-fog",
  failed: "text-danger",
  stopped: "text-slate",
};

export function Timeline({ request, audit }: { request: JoinRequest; audit?: AuditEvent[] }) {
  const steps = timelineSteps(request, audit);
  return (
    <ol className="grid gap-0" aria-label="Status timeline">
      {steps.map((step, i) => {
        const Icon = STEP_ICON[step.state];
        const last = i === steps.length - 1;
        return (
          <li
            key={step.key}
            className="relative flex gap-3 pb-5 last:pb-0"
            aria-current={step.state === "current" ? "step" : undefined}
          >
            {!last ? (
              <span
                aria-hidden="true"
                className={cn("absolute top-6 bottom-0 left-[9px] w-px", step.state === "done" ? "bg-ok/40" : "bg-fog")}
              />
            ) : null}
            <Icon
              className={cn("relative mt-0.5 size-[19px] shrink-0 bg-paper", STEP_STYLE[step.state])}
              aria-hidden="true"
            />
            <div className="min-w-0">
              <div className={cn("text-sm font-medium", step.state === "todo" ? "text-slate" : "text-graphite")}>
                {step.label}
                <span className="sr-only">
                  {" "}
                  ({step.state === "todo" ? "not yet" : step.state === "current" ? "in progress" : step.state})
                </span>
              </div>
              {step.at ? (
                <div className="text-xs text-slate">
                  <time dateTime={step.at}>{formatDateTime(step.at)}</time>
                </div>
              ) : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

export function RequestSummary({ request, extra }: { request: JoinRequest; extra?: React.ReactNode }) {
  return (
    <dl className="grid grid-cols-1 gap-x-6 gap-y-4 sm:grid-cols-2">
      <Field label="ASN" mono>
        AS{request.asn}
      </Field>
      <Field label="IX network">
        {request.network_name}
        <div className="font-mono text-xs text-slate">{request.zt_network_id}</div>
      </Field>
      <Field label="Node ID" mono>
        {request.node_id}
      </Field>
      <Field label="Submitted">
        <time dateTime={request.created_at}>{formatDateTime(request.created_at)}</time>
        <span className="text-slate"> · {formatRelative(request.created_at)}</span>
      </Field>
      {request.notes ? (
        // A <dl> holds only <dt>/<dd> groups in one <div> each (axe definition-list).
        <Field label="Notes" className="sm:col-span-2">
          {request.notes}
        </Field>
      ) : null}
      {extra}
    </dl>
  );
}

/** Why the request is stuck or closed, and what to do next. */
export function RequestNotice({ request, admin = false }: { request: JoinRequest; admin?: boolean }) {
  if (request.status === "rejected")
    return (
      <div role="status" className="rounded-lg border border-[#ddd3ca] bg-taupe-soft p-4 text-sm">
        <p className="font-medium text-graphite">The IX team declined this request.</p>
        {request.decision_reason ? (
          <p className="mt-1 text-graphite">
            Reason: <q>{request.decision_reason}</q>
          </p>
        ) : null}
        {!admin ? <p className="mt-1 text-slate">Fix what the reason says and send a new request.</p> : null}
      </div>
    );
  const error = request.last_error;
  if (!error || request.status === "active" || request.status === "removed" || request.status === "cancelled")
    return null;
  const text = describeCode(error.code);
  const failed = request.status === "failed";
  return (
    <div
      role={failed ? "alert" : "status"}
      className={cn(
        "flex gap-3 rounded-lg border p-4 text-sm",
        failed ? "border-[#ecc3bc] bg-danger-soft" : "border-[#e8d3c4] bg-clay-soft",
      )}
    >
      <AlertTriangle
        className={cn("mt-0.5 size-4 shrink-0", failed ? "text-danger" : "text-clay")}
        aria-hidden="true"
      />
      <div className="min-w-0">
        <p className={cn("font-medium", failed ? "text-danger" : "text-[#6b3d24]")}>
          {failed ? "Provisioning failed: " : "Retrying after a problem: "}
          {text.message}
        </p>
        {admin ? (
          <>
            <p className="mt-1 text-graphite">
              System <Mono>{error.system ?? "unknown"}</Mono> · code <Mono>{error.code}</Mono> · attempt{" "}
              {request.attempts}
              {request.next_attempt_at && !failed ? <> · next try {formatRelative(request.next_attempt_at)}</> : null}
            </p>
            {error.message ? <p className="mt-1 font-mono text-xs break-words text-graphite">{error.message}</p> : null}
            {text.hint ? <p className="mt-1 text-slate">{text.hint}</p> : null}
          </>
        ) : (
          <p className="mt-1 text-graphite">
            {failed
              ? "The IX team has been told and will retry once it is fixed. Nothing to do on your side."
              : "ZT-IX tries again by itself; this page updates when it gets through."}
          </p>
        )}
      </div>
    </div>
  );
}

export function MembershipCard({ request }: { request: JoinRequest }) {
  const m = request.membership;
  // After leaving, the last read-back stays on record but is no longer the member's.
  if (!m || request.status === "removed" || request.status === "cancelled" || request.status === "rejected")
    return null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Your place on the peering LAN</CardTitle>
        <CardDescription>Join the ZeroTier network from your router, then configure these addresses.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        <dl className="grid grid-cols-1 gap-x-6 gap-y-4 sm:grid-cols-2">
          <Field label="IPv4" mono>
            {m.ipv4 ?? "—"}
          </Field>
          <Field label="IPv6" mono>
            {m.ipv6 ?? "—"}
          </Field>
          <Field label="ZeroTier network ID" mono>
            {m.zt_network_id}
          </Field>
          <Field label="Authorized">
            {m.authorized ? <Badge tone="ok">Authorized</Badge> : <Badge tone="warm">Not yet</Badge>}
          </Field>
        </dl>
        <div>
          <div className="mb-1.5 text-xs font-medium tracking-wide text-slate uppercase">Join command</div>
          <div className="flex flex-wrap items-center gap-2 rounded-lg border border-line bg-soft p-2 pl-3">
            <code className="min-w-0 flex-1 font-mono text-sm break-all text-teal-deep">{m.join_command}</code>
            <CopyButton text={m.join_command} label="Copy the join command" />
          </div>
        </div>
      </CardContent>
    </Card>
  );
}

function sessionTone(session: BgpSession) {
  if (session.bgp_state === "Established") return "ok" as const;
  if (session.state === "down" || session.last_error) return "danger" as const;
  return "warm" as const;
}

function SessionLine({ session }: { session: BgpSession }) {
  const waiting = session.bgp_state !== "Established" && sessionTone(session) === "warm";
  return (
    <li className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
      <span className="w-10 font-mono text-xs text-slate">{session.family === "ipv6" ? "IPv6" : "IPv4"}</span>
      <Badge tone={sessionTone(session)}>{session.bgp_state ?? session.state}</Badge>
      {waiting ? <span className="text-slate">waiting for your router to connect</span> : null}
      {session.since ? <span className="text-slate">since {formatRelative(session.since)}</span> : null}
      <span className="text-slate">
        {session.imported} accepted · {session.filtered} filtered
        {session.import_limit ? ` · import limit ${session.import_limit}` : ""}
        {session.receive_limit ? ` · receive limit ${session.receive_limit}` : ""}
      </span>
      {session.limit_tripped ? (
        <Badge tone="danger" title="Routes over the limit are dropped or the session is reset">
          {session.limit_tripped === "receive" ? "Receive limit hit" : "Import limit hit"}
        </Badge>
      ) : null}
    </li>
  );
}

function ServerSessions({ server, active }: { server: MemberRouteServer; active: boolean }) {
  if (!active) return <p className="text-sm text-slate">Sessions come up once your request is active.</p>;
  if (server.sessions_ok === false)
    return <p className="text-sm text-[#6b3d24]">Session state cannot be read right now; it is retried.</p>;
  if (server.sessions.length === 0)
    return (
      <p className="text-sm text-slate">
        {server.applied ? "No session found yet." : "Your sessions are being added to this route server."}
      </p>
    );
  return (
    <ul className="grid gap-1.5" aria-label={`BGP sessions on ${server.name}`}>
      {server.sessions.map((s) => (
        <SessionLine key={s.protocol} session={s} />
      ))}
    </ul>
  );
}

export function RouteServersCard({ request }: { request: JoinRequest }) {
  const servers = useRequestRouteServers(request.id, request.status);
  const active = request.status === "active";
  const snippet = servers.data ? birdSnippet(request, servers.data) : null;
  if (request.status === "rejected" || request.status === "cancelled" || request.status === "removed") return null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Route servers</CardTitle>
        <CardDescription>Peer with every route server of the network to reach all members.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        {servers.isPending ? (
          <Skeleton className="h-24 w-full" />
        ) : servers.isError ? (
          <ErrorPanel error={servers.error} onRetry={() => void servers.refetch()} />
        ) : servers.data.length === 0 ? (
          <p className="text-sm text-slate">This network has no route servers: peer with other members directly.</p>
        ) : (
          <ul className="grid gap-3">
            {servers.data.map((rs) => (
              <li key={rs.name} className="rounded-lg border border-line p-4 marble-faint">
                <div className="mb-3 flex flex-wrap items-baseline gap-x-4 gap-y-1">
                  <span className="font-semibold text-teal-deep">{rs.name}</span>
                  <Mono className="text-sm">AS{rs.asn}</Mono>
                  <Mono className="text-sm text-slate">{rs.ipv4}</Mono>
                  <Mono className="text-sm text-slate">{rs.ipv6}</Mono>
                  {rs.bgp_port === 179 ? null : <Mono className="text-sm text-slate">port {rs.bgp_port}</Mono>}
                  {active && rs.applied ? <Badge tone="ok">configuration applied</Badge> : null}
                </div>
                <ServerSessions server={rs} active={active} />
              </li>
            ))}
          </ul>
        )}
        {snippet && (active || request.status === "provisioning") ? (
          <CodeBlock code={snippet} label="BIRD 2 configuration for your router" />
        ) : null}
      </CardContent>
    </Card>
  );
}

export function StatusHeadline({ request }: { request: JoinRequest }) {
  return (
    <span className="flex flex-wrap items-center gap-2 text-sm text-slate">
      <StatusBadge status={request.status} />
      <span>{STATUS[request.status].member}</span>
    </span>
  );
}

/** Why the eligibility policy left the request to a person (members see the reasons). */
export function PolicyReasons({ request }: { request: JoinRequest }) {
  const reasons = request.policy?.reasons ?? [];
  if (request.status !== "pending" || reasons.length === 0) return null;
  return (
    <div role="status" className="rounded-lg border border-fog bg-mist p-4 text-sm">
      <p className="font-medium text-teal-deep">Why a person reviews this request</p>
      <ul className="mt-1 list-disc pl-5 text-graphite">
        {reasons.map((r) => (
          <li key={r.code}>{r.message}</li>
        ))}
      </ul>
    </div>
  );
}

type Verdict = NonNullable<AdminJoinRequestDetail["policy_verdict"]>;

const CHECK_TONE = { pass: "ok", fail: "danger", unknown: "warm" } as const;

/** The whole policy verdict, with each check's rule and evidence (admins). */
export function PolicyVerdictCard({ verdict }: { verdict: Verdict | null | undefined }) {
  if (!verdict) return null;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Eligibility policy</CardTitle>
        <CardDescription>
          Decision <Mono>{verdict.decision}</Mono> on {formatDateTime(verdict.evaluated_at)}
          {verdict.auto_approval ? " (automatic approval was on)" : ""}.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {verdict.reasons.length ? (
          <ul className="list-disc pl-5 text-sm text-graphite">
            {verdict.reasons.map((r) => (
              <li key={r.code}>{r.message}</li>
            ))}
          </ul>
        ) : null}
        <ul className="grid gap-2">
          {verdict.checks.map((c) => (
            <li key={c.name} className="flex flex-wrap items-start gap-x-3 gap-y-1 text-sm">
              <Badge tone={CHECK_TONE[c.status as keyof typeof CHECK_TONE] ?? "neutral"}>{c.status}</Badge>
              <span className="font-mono text-xs text-teal-deep">{c.name}</span>
              <span className="min-w-0 basis-full text-slate sm:flex-1 sm:basis-auto">{c.detail}</span>
            </li>
          ))}
        </ul>
      </CardContent>
    </Card>
  );
}

/** The top of a request's page, for members and admins alike: the way back, what the
 * request is, where it stands, and the actions the page offers. */
export function RequestHeader({
  request,
  back,
  actions,
}: {
  request: JoinRequest;
  back: { to: string; label: string };
  actions?: React.ReactNode;
}) {
  return (
    <>
      <Link to={back.to} className="mb-3 inline-flex items-center gap-1 text-sm text-harbor hover:underline">
        <ArrowLeft className="size-4" aria-hidden="true" />
        {back.label}
      </Link>
      <PageHeader
        eyebrow={
          <>
            Request <Mono>{shortId(request.id)}</Mono>
          </>
        }
        title={
          <>
            <Mono>AS{request.asn}</Mono> on {request.network_name}
          </>
        }
        description={<StatusHeadline request={request} />}
        actions={actions}
      />
    </>
  );
}
