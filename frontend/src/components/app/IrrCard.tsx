import type { IrrStatus } from "@/api/types";
import { Field } from "@/components/app/Field";
import { Mono } from "@/components/app/Mono";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { useRequestIrr } from "@/hooks/queries";
import { formatDateTime, formatRelative } from "@/lib/format";

const CHOICE: Record<string, string> = {
  override: "set by the IX",
  peeringdb: "from PeeringDB's IRR AS-SET",
  asn: "your ASN: nothing valid in PeeringDB's IRR AS-SET",
};

/** Where the AS-SET in use came from, in words. */
export function irrChoice(choice: string | null | undefined): string {
  return choice ? (CHOICE[choice] ?? choice) : "—";
}

/** The state of a member's IRR data as a badge. */
export function IrrBadge({ irr }: { irr: IrrStatus }) {
  if (!irr.enabled) return <Badge tone="neutral">IRR filtering off</Badge>;
  if (irr.prefixes_ipv4 == null) {
    return irr.last_error_code ? <Badge tone="danger">No IRR data</Badge> : <Badge tone="warm">Not checked yet</Badge>;
  }
  if (irr.last_error_code) return <Badge tone="warm">Last refresh failed</Badge>;
  return <Badge tone="ok">IRR data current</Badge>;
}

/** The IRR details shared by the member's and the admin's pages. */
export function IrrDetails({ irr }: { irr: IrrStatus }) {
  return (
    <div className="grid gap-4">
      <dl className="grid grid-cols-2 gap-x-6 gap-y-3 md:grid-cols-3">
        <Field label="AS-SET in use" mono>
          {irr.as_set ?? "—"}
        </Field>
        <Field label="Where it came from">{irrChoice(irr.as_set_choice)}</Field>
        <Field label="Prefixes">
          {irr.prefixes_ipv4 == null ? "—" : `${irr.prefixes_ipv4} IPv4 · ${irr.prefixes_ipv6 ?? 0} IPv6`}
          {irr.origins != null ? ` · ${irr.origins} origin ASNs` : ""}
        </Field>
        <Field label="Data fetched">
          {irr.fetched_at ? (
            <time dateTime={irr.fetched_at} title={formatDateTime(irr.fetched_at)}>
              {formatRelative(irr.fetched_at)}
            </time>
          ) : (
            "never"
          )}
        </Field>
        <Field label="Last attempt">{irr.last_attempt_at ? formatRelative(irr.last_attempt_at) : "never"}</Field>
        <Field label="Next refresh expands" mono>
          {irr.next_as_set}
        </Field>
      </dl>
      {irr.last_error ? (
        <div role="alert" className="rounded-lg border border-[#ecc3bc] bg-danger-soft p-3 text-sm">
          <p className="font-medium text-danger">
            The last refresh failed (<Mono>{irr.last_error_code}</Mono>)
            {irr.prefixes_ipv4 != null ? ": the route servers keep filtering on the last good data." : "."}
          </p>
          <p className="mt-1 text-graphite">{irr.last_error}</p>
        </div>
      ) : null}
    </div>
  );
}

/** A member's view of the IRR data its routes are filtered with. */
export function IrrCard({ requestId }: { requestId: string }) {
  const irr = useRequestIrr(requestId);
  if (!irr.isSuccess) return null;
  const data = irr.data;
  return (
    <Card>
      <CardHeader className="flex-row flex-wrap items-center justify-between gap-2">
        <div>
          <CardTitle>IRR filtering</CardTitle>
          <CardDescription>
            The route servers accept the prefixes of your AS-SET's route objects, originated by its ASNs.
          </CardDescription>
        </div>
        <IrrBadge irr={data} />
      </CardHeader>
      <CardContent>
        {data.enabled ? (
          <IrrDetails irr={data} />
        ) : (
          <p className="text-sm text-slate">
            This IX does not filter on IRR data; your routes are tagged "not checked".
          </p>
        )}
      </CardContent>
    </Card>
  );
}
