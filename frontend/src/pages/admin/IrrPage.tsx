import { useMutation, useQueryClient } from "@tanstack/react-query";
import { RefreshCw } from "lucide-react";
import * as React from "react";
import { toast } from "sonner";
import { api, unwrap } from "@/api/client";
import type { IrrStatus } from "@/api/types";
import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { IrrBadge, irrChoice } from "@/components/app/IrrCard";
import { Mono } from "@/components/app/Mono";
import { PageHeader } from "@/components/app/PageHeader";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { keys, useAdminIrr } from "@/hooks/queries";
import { formatDateTime, formatRelative } from "@/lib/format";

function useRefresh() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (asn: number | null) => unwrap(api.POST("/api/v1/admin/irr/refresh", { body: { asn } })),
    onSuccess: (body) => {
      toast.success(body.asns ? `Refreshing AS${body.asns[0]}` : "Refreshing every member's IRR data");
      void client.invalidateQueries({ queryKey: keys.irr });
    },
  });
}

function OverrideForm({ irr }: { irr: IrrStatus }) {
  const client = useQueryClient();
  const [text, setText] = React.useState(irr.override ?? "");
  const save = useMutation({
    mutationFn: (as_set: string | null) =>
      unwrap(api.PUT("/api/v1/admin/irr/{asn}/override", { params: { path: { asn: irr.asn } }, body: { as_set } })),
    onSuccess: (body) => {
      toast.success(body.override ? `AS${body.asn}: override ${body.override}` : `AS${body.asn}: override cleared`);
      void client.invalidateQueries({ queryKey: keys.irr });
    },
  });
  return (
    <form
      className="flex items-center gap-2"
      aria-label={`AS-SET override for AS${irr.asn}`}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate(text.trim() ? text.trim() : null);
      }}
    >
      <Input
        aria-label={`Override AS-SET for AS${irr.asn}`}
        className="h-8 w-44 font-mono text-xs"
        placeholder="RIPE::AS-EXAMPLE"
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <Button type="submit" size="sm" variant="outline" disabled={save.isPending}>
        {text.trim() ? "Set" : "Clear"}
      </Button>
    </form>
  );
}

function IrrRow({ irr, refresh }: { irr: IrrStatus; refresh: ReturnType<typeof useRefresh> }) {
  return (
    <TableRow>
      <TableCell>
        <Mono>AS{irr.asn}</Mono>
        <div className="mt-1">
          <IrrBadge irr={irr} />
        </div>
      </TableCell>
      <TableCell>
        <Mono className="text-xs">{irr.as_set ?? irr.next_as_set}</Mono>
        <div className="text-xs text-slate">{irrChoice(irr.as_set_choice ?? irr.next_choice)}</div>
        {irr.peeringdb_as_set ? (
          <div className="text-xs text-slate">
            PeeringDB: <Mono>{irr.peeringdb_as_set}</Mono>
          </div>
        ) : null}
      </TableCell>
      <TableCell className="text-sm">
        {irr.prefixes_ipv4 == null ? "—" : `${irr.prefixes_ipv4} / ${irr.prefixes_ipv6 ?? 0}`}
      </TableCell>
      <TableCell className="text-sm text-slate">
        {irr.fetched_at ? (
          <time dateTime={irr.fetched_at} title={formatDateTime(irr.fetched_at)}>
            {formatRelative(irr.fetched_at)}
          </time>
        ) : (
          "never"
        )}
        {irr.last_error ? (
          <div className="mt-1 max-w-64 text-xs text-danger">
            {irr.last_error} ({irr.last_error_code})
          </div>
        ) : null}
      </TableCell>
      <TableCell>
        <OverrideForm irr={irr} />
      </TableCell>
      <TableCell>
        <Button
          size="sm"
          variant="ghost"
          disabled={refresh.isPending || !irr.enabled}
          onClick={() => refresh.mutate(irr.asn)}
          aria-label={`Refresh AS${irr.asn}`}
        >
          <RefreshCw aria-hidden="true" />
        </Button>
      </TableCell>
    </TableRow>
  );
}

export function AdminIrrPage() {
  const irr = useAdminIrr();
  const refresh = useRefresh();
  React.useEffect(() => {
    document.title = "IRR filtering · ZT-IX";
  }, []);
  const enabled = irr.data?.[0]?.enabled ?? true;
  return (
    <>
      <PageHeader
        eyebrow="Operations"
        title="IRR filtering"
        description="Each member's AS-SET as the route servers use it: where it came from, its prefixes, the data's age and the last refresh's error. A failed refresh keeps the last good data."
      />
      <div className="mb-4">
        <Button variant="outline" disabled={refresh.isPending || !enabled} onClick={() => refresh.mutate(null)}>
          <RefreshCw aria-hidden="true" />
          Refresh all members
        </Button>
      </div>
      {irr.isPending ? (
        <Skeleton className="h-72 w-full" />
      ) : irr.isError ? (
        <ErrorPanel error={irr.error} onRetry={() => void irr.refetch()} />
      ) : irr.data.length === 0 ? (
        <Empty title="No route-server members yet">
          <p>Members appear here once they are route-server clients.</p>
        </Empty>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-line">
          <Table aria-label="Members' IRR data">
            <TableHeader>
              <TableRow className="hover:bg-transparent">
                <TableHead>Member</TableHead>
                <TableHead>AS-SET</TableHead>
                <TableHead>Prefixes v4 / v6</TableHead>
                <TableHead>Fetched</TableHead>
                <TableHead>Override</TableHead>
                <TableHead>
                  <span className="sr-only">Refresh</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {irr.data.map((s) => (
                <IrrRow key={s.asn} irr={s} refresh={refresh} />
              ))}
            </TableBody>
          </Table>
        </div>
      )}
    </>
  );
}
