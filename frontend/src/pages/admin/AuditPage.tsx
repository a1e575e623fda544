import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type * as React from "react";
import { useSearchParams } from "react-router";
import { toast } from "sonner";
import { ApiError, api, unwrap } from "@/api/client";
import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Mono } from "@/components/app/Mono";
import { PageHeader } from "@/components/app/PageHeader";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";

const PAGE = 50;
const FIELDS = [
  { name: "actor", label: "Actor", placeholder: "a username, cli, policy…" },
  { name: "asn", label: "ASN", placeholder: "213035" },
  { name: "action", label: "Action", placeholder: "request.approved" },
  { name: "request_id", label: "Request ID", placeholder: "UUID" },
  { name: "since", label: "From", type: "datetime-local" },
  { name: "until", label: "Until", type: "datetime-local" },
] as const;
type FilterName = (typeof FIELDS)[number]["name"];

/** The URL's filters as API query parameters (local times become UTC instants). */
function queryOf(params: URLSearchParams) {
  const value = (name: FilterName) => params.get(name) || undefined;
  const instant = (name: FilterName) => {
    const text = value(name);
    return text ? new Date(text).toISOString() : undefined;
  };
  const asn = value("asn");
  return {
    actor: value("actor"),
    action: value("action"),
    request_id: value("request_id"),
    asn: asn && /^\d+$/.test(asn) ? Number(asn) : undefined,
    since: instant("since"),
    until: instant("until"),
  };
}

async function downloadCsv(query: ReturnType<typeof queryOf>) {
  try {
    const text = await unwrap(api.GET("/api/v1/admin/audit.csv", { params: { query }, parseAs: "text" }));
    const url = URL.createObjectURL(new Blob([text as string], { type: "text/csv" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "ztix-audit.csv";
    link.click();
    URL.revokeObjectURL(url);
  } catch (error) {
    toast.error(error instanceof ApiError ? error.detail : "The export failed.");
  }
}

export function AdminAuditPage() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? "0") || 0;
  const query = queryOf(params);
  const events = useQuery({
    queryKey: ["admin", "audit", query, offset],
    queryFn: () => unwrap(api.GET("/api/v1/admin/audit", { params: { query: { ...query, limit: PAGE, offset } } })),
    placeholderData: keepPreviousData,
  });
  const apply = (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const f of FIELDS) {
      const v = String(form.get(f.name) ?? "").trim();
      if (v) next.set(f.name, v);
    }
    setParams(next);
  };
  const page = (to: number) => {
    const next = new URLSearchParams(params);
    next.set("offset", String(to));
    setParams(next);
  };
  const total = events.data?.total ?? 0;
  return (
    <>
      <PageHeader
        title="Audit trail"
        description="Who did what, to which request or account, from where. Newest first."
        actions={
          <Button variant="outline" onClick={() => void downloadCsv(query)}>
            Export CSV
          </Button>
        }
      />
      <Card className="mb-4">
        <CardContent className="pt-4">
          <form onSubmit={apply} className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" aria-label="Audit filters">
            {FIELDS.map((f) => (
              <div key={f.name} className="grid gap-1.5">
                <Label htmlFor={`audit-${f.name}`}>{f.label}</Label>
                <Input
                  id={`audit-${f.name}`}
                  name={f.name}
                  type={"type" in f ? f.type : "text"}
                  placeholder={"placeholder" in f ? f.placeholder : undefined}
                  defaultValue={params.get(f.name) ?? ""}
                />
              </div>
            ))}
            <div className="flex items-end gap-2">
              <Button type="submit">Filter</Button>
              <Button type="button" variant="ghost" onClick={() => setParams(new URLSearchParams())}>
                Clear
              </Button>
            </div>
          </form>
        </CardContent>
      </Card>
      {events.isError ? <ErrorPanel error={events.error} onRetry={() => void events.refetch()} /> : null}
      <Card>
        <CardContent className="overflow-x-auto p-0" aria-busy={events.isPending}>
          {events.isPending ? (
            <div className="grid gap-2 p-4">
              <Skeleton className="h-8" />
              <Skeleton className="h-8" />
            </div>
          ) : events.data && events.data.items.length > 0 ? (
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>When</TableHead>
                  <TableHead>Actor</TableHead>
                  <TableHead>Action</TableHead>
                  <TableHead>Target</TableHead>
                  <TableHead>Details</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {events.data.items.map((e) => (
                  <TableRow key={e.id}>
                    <TableCell className="whitespace-nowrap">
                      <time dateTime={e.occurred_at}>{formatDateTime(e.occurred_at)}</time>
                    </TableCell>
                    <TableCell>{e.actor}</TableCell>
                    <TableCell>
                      <Mono>{e.action}</Mono>
                      {e.to_status ? (
                        <div className="text-xs text-slate">
                          {e.from_status ?? "—"} → {e.to_status}
                        </div>
                      ) : null}
                    </TableCell>
                    <TableCell className="text-sm">
                      {e.target_type ? `${e.target_type} ${e.target_id ?? ""}` : "—"}
                    </TableCell>
                    <TableCell className="max-w-md truncate font-mono text-xs" title={JSON.stringify(e.details)}>
                      {JSON.stringify(e.details)}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          ) : (
            <Empty title="No events match these filters" />
          )}
        </CardContent>
      </Card>
      <nav aria-label="Pages" className="mt-4 flex items-center justify-between text-sm text-slate">
        <span>{total === 0 ? "0 events" : `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total} events`}</span>
        <div className="flex gap-2">
          <Button variant="outline" size="sm" disabled={offset === 0} onClick={() => page(Math.max(0, offset - PAGE))}>
            Newer
          </Button>
          <Button variant="outline" size="sm" disabled={offset + PAGE >= total} onClick={() => page(offset + PAGE)}>
            Older
          </Button>
        </div>
      </nav>
    </>
  );
}
