import { useMutation, useQueryClient } from "@tanstack/react-query";
import { HelpCircle, Send } from "lucide-react";
import * as React from "react";
import { Link, useNavigate } from "react-router";
import { toast } from "sonner";
import { type ApiError, api, isApiError, unwrap } from "@/api/client";
import type { JoinRequest, JoinRequestCreate, OnboardingContext } from "@/api/types";
import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Mono } from "@/components/app/Mono";
import { PageHeader } from "@/components/app/PageHeader";
import { StatusBadge } from "@/components/app/StatusBadge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardFooter } from "@/components/ui/card";
import { Input, NativeSelect, Textarea } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useMyRequests, useOnboarding } from "@/hooks/queries";
import { describeError } from "@/lib/errors";
import { nodeIdProblem, normalizeNodeId } from "@/lib/identifiers";
import { OPEN } from "@/lib/status";

export function OnboardingPage() {
  const context = useOnboarding();
  const mine = useMyRequests();
  React.useEffect(() => {
    document.title = "Join the IX · ZT-IX";
  }, []);

  return (
    <>
      <PageHeader
        eyebrow="Join the IX"
        title="Connect a router"
        description="Pick the ASN you peer as and the IX network, then give us your router's ZeroTier node ID."
      />
      {context.isPending ? (
        <Skeleton className="h-96 w-full max-w-2xl" />
      ) : context.isError ? (
        <ErrorPanel error={context.error} onRetry={() => void context.refetch()} />
      ) : (
        <Eligibility context={context.data}>
          <JoinForm context={context.data} existing={mine.data?.items ?? []} />
        </Eligibility>
      )}
    </>
  );
}

function Eligibility({ context, children }: { context: OnboardingContext; children: React.ReactNode }) {
  if (context.asns.length === 0)
    return (
      <Empty title="You hold no ASN that can peer here">
        <p className="mx-auto max-w-md">
          ZT-IX takes your ASNs from PeeringDB: you need the <strong>update</strong> permission on the network there,
          and a verified account and e-mail. Private and reserved ASNs cannot peer at an IX. Ask your organisation's
          PeeringDB admin, then log in again.
        </p>
      </Empty>
    );
  if (context.networks.length === 0)
    return (
      <Empty title="No IX network is open to you yet">
        <p>Ask the IX team to give your account access to a network.</p>
      </Empty>
    );
  return <>{children}</>;
}

interface Touched {
  node: boolean;
}

function JoinForm({ context, existing }: { context: OnboardingContext; existing: JoinRequest[] }) {
  const navigate = useNavigate();
  const client = useQueryClient();
  const [asn, setAsn] = React.useState(String(context.asns[0]!.asn));
  const [network, setNetwork] = React.useState(context.networks[0]!.zt_network_id);
  const [node, setNode] = React.useState("");
  const [notes, setNotes] = React.useState("");
  const [touched, setTouched] = React.useState<Touched>({ node: false });
  const [serverError, setServerError] = React.useState<ApiError | null>(null);

  const nodeProblem = nodeIdProblem(node);
  const normalized = normalizeNodeId(node);
  const duplicate = existing.find(
    (r) => OPEN.has(r.status) && String(r.asn) === asn && r.zt_network_id === network && r.node_id === normalized,
  );
  const selectedNetwork = context.networks.find((n) => n.zt_network_id === network);

  const create = useMutation({
    mutationFn: (body: JoinRequestCreate) => unwrap(api.POST("/api/v1/requests", { body })),
    meta: { quiet: true },
    onSuccess: (request) => {
      void client.invalidateQueries({ queryKey: keys.myRequests });
      client.setQueryData(keys.request(request.id), request);
      toast.success(request.status === "approved" ? "Request approved by policy" : "Request sent to the IX team");
      navigate(`/requests/${request.id}`);
    },
    onError: (error) => setServerError(isApiError(error) ? error : null),
  });

  const nodeServerError = serverError?.code === "invalid_node_id" ? serverError : null;
  const showNodeError = (touched.node && nodeProblem) || nodeServerError;

  function submit(event: React.FormEvent) {
    event.preventDefault();
    setTouched({ node: true });
    setServerError(null);
    if (nodeProblem || duplicate) {
      document.getElementById("node-id")?.focus();
      return;
    }
    create.mutate({ asn: Number(asn), zt_network_id: network, node_id: normalized, notes: notes.trim() });
  }

  const existingId =
    serverError?.code === "duplicate_open_request" ? String(serverError.problem.existing_request_id ?? "") : "";

  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_18rem]">
      <Card>
        <form onSubmit={submit} noValidate aria-label="Join request">
          <CardContent className="grid gap-5 pt-5">
            <div className="grid gap-2">
              <Label htmlFor="asn">ASN</Label>
              <NativeSelect id="asn" value={asn} onChange={(e) => setAsn(e.target.value)}>
                {context.asns.map((a) => (
                  <option key={a.asn} value={a.asn}>
                    AS{a.asn} — {a.network_name || "unnamed network"}
                  </option>
                ))}
              </NativeSelect>
              <p className="text-xs text-slate">
                {context.asns.length === 1 ? "The ASN you hold." : "The ASNs you hold."} Sessions on the route servers
                use this ASN.
              </p>
            </div>

            <div className="grid gap-2">
              <Label htmlFor="network">IX network</Label>
              <NativeSelect id="network" value={network} onChange={(e) => setNetwork(e.target.value)}>
                {context.networks.map((n) => (
                  <option key={n.zt_network_id} value={n.zt_network_id}>
                    {n.name}
                  </option>
                ))}
              </NativeSelect>
              {selectedNetwork ? (
                <p className="text-xs text-slate">
                  Network <Mono>{selectedNetwork.zt_network_id}</Mono> · peering LAN{" "}
                  <Mono>{selectedNetwork.ipv4_prefix}</Mono> and <Mono>{selectedNetwork.ipv6_prefix}</Mono>
                </p>
              ) : null}
            </div>

            <div className="grid gap-2">
              <Label htmlFor="node-id">Your router's ZeroTier node ID</Label>
              <Input
                id="node-id"
                className="font-mono tracking-wide"
                inputMode="text"
                autoComplete="off"
                spellCheck={false}
                maxLength={32}
                placeholder="e.g. 1a2b3c4d5e"
                value={node}
                aria-invalid={Boolean(showNodeError)}
                aria-describedby="node-id-help node-id-error"
                onChange={(e) => {
                  setNode(e.target.value);
                  if (serverError) setServerError(null);
                }}
                onBlur={() => setTouched({ node: true })}
              />
              <p id="node-id-error" className="text-sm text-danger" aria-live="polite">
                {showNodeError ? (nodeServerError ? describeError(nodeServerError).message : nodeProblem) : null}
              </p>
              <details id="node-id-help" className="group rounded-lg border border-line bg-soft px-3 py-2 text-sm">
                <summary className="flex cursor-pointer items-center gap-2 font-medium text-teal-deep marker:content-none">
                  <HelpCircle className="size-4 text-harbor" aria-hidden="true" />
                  Where do I find my node ID?
                </summary>
                <div className="mt-2 grid gap-2 text-slate">
                  <p>On the router that will peer, run:</p>
                  <pre className="rounded-md border border-line bg-paper px-3 py-2 text-[0.8125rem] text-graphite">
                    <code>{"$ sudo zerotier-cli info\n200 info 1a2b3c4d5e 1.14.2 ONLINE"}</code>
                  </pre>
                  <p>
                    The node ID is the 10-character word after <Mono>info</Mono> (here <Mono>1a2b3c4d5e</Mono>). Upper
                    case is fine; we store it in lower case.
                  </p>
                </div>
              </details>
            </div>

            <div className="grid gap-2">
              <Label htmlFor="notes">Notes for the IX team (optional)</Label>
              <Textarea
                id="notes"
                maxLength={2000}
                value={notes}
                onChange={(e) => setNotes(e.target.value)}
                placeholder="Anything we should know, e.g. a NOC contact."
              />
            </div>

            {duplicate ? (
              <div role="alert" className="rounded-lg border border-[#e8d3c4] bg-clay-soft p-3 text-sm text-[#6b3d24]">
                You already have an open request for AS{duplicate.asn} and node <Mono>{duplicate.node_id}</Mono> on this
                network (<StatusBadge status={duplicate.status} />
                ).{" "}
                <Link className="font-medium text-harbor underline" to={`/requests/${duplicate.id}`}>
                  Open it
                </Link>{" "}
                instead of asking twice.
              </div>
            ) : null}
            {serverError && !nodeServerError ? (
              <div role="alert" className="rounded-lg border border-[#ecc3bc] bg-danger-soft p-3 text-sm">
                <p className="font-medium text-danger">{describeError(serverError).message}</p>
                {describeError(serverError).hint ? (
                  <p className="mt-0.5 text-graphite">{describeError(serverError).hint}</p>
                ) : null}
                {serverError.code.endsWith("_not_eligible") && serverError.detail ? (
                  <p className="mt-1 text-graphite">Reason: {serverError.detail}</p>
                ) : null}
                {existingId ? (
                  <Link className="mt-1 inline-block font-medium text-harbor underline" to={`/requests/${existingId}`}>
                    Open the existing request
                  </Link>
                ) : null}
              </div>
            ) : null}
          </CardContent>
          <CardFooter className="justify-between">
            <p className="text-xs text-slate">
              {context.approval_mode === "policy_auto"
                ? "Eligible requests are approved at once."
                : "An IX admin reviews every request."}
            </p>
            <Button type="submit" disabled={create.isPending}>
              <Send aria-hidden="true" />
              {create.isPending ? "Sending…" : "Send request"}
            </Button>
          </CardFooter>
        </form>
      </Card>

      <aside className="h-fit rounded-xl border border-line p-5 text-sm marble" aria-label="What happens next">
        <h2 className="font-semibold text-teal-deep">What happens next</h2>
        <ol className="mt-3 grid gap-3 text-graphite">
          {[
            ["Pending", "An IX admin reviews your request."],
            ["Provisioning", "Your node is authorized on the peering LAN with its addresses."],
            ["Active", "Route servers accept your sessions: paste the BIRD snippet."],
          ].map(([title, text], i) => (
            <li key={title} className="flex gap-3 stagger" style={{ "--i": i } as React.CSSProperties}>
              <span className="mt-0.5 grid size-5 shrink-0 place-items-center rounded-full bg-paper font-mono text-[0.7rem] text-clay shadow-soft">
                {i + 1}
              </span>
              <span>
                <span className="font-medium">{title}.</span> {text}
              </span>
            </li>
          ))}
        </ol>
      </aside>
    </div>
  );
}
