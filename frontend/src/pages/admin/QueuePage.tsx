import { ArrowDown, ArrowUp, ChevronLeft, ChevronRight } from "lucide-react";
import * as React from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ALL_STATUSES, type NeedsHumanReason, type RequestStatus, type SortKey } from "@/api/types";
import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { GrantLostBadge } from "@/components/app/GrantLostBadge";
import { Mono } from "@/components/app/Mono";
import { PageHeader } from "@/components/app/PageHeader";
import { StatusBadge } from "@/components/app/StatusBadge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Input, NativeSelect } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { type QueueFilter, useOnboarding, useQueue } from "@/hooks/queries";
import { formatDateTime, formatRelative, shortId } from "@/lib/format";
import { STATUS } from "@/lib/status";
import { cn } from "@/lib/utils";

const PAGE_SIZE = 25;
const SORTS: SortKey[] = ["-created_at", "created_at", "-updated_at", "updated_at", "asn", "-asn"];
const AGES: Array<[string, string]> = [
  ["", "Any age"],
  ["60", "Older than 1 hour"],
  ["1440", "Older than 1 day"],
  ["10080", "Older than 1 week"],
];

/** The policy's reasons for leaving a request to a human, as the admin filter offers them. */
export const NEEDS_HUMAN: Array<[NeedsHumanReason, string]> = [
  ["manual_approval_mode", "Manual approval mode"],
  ["network_manual", "Network approved by hand"],
  ["peeringdb_unknown", "PeeringDB could not be asked"],
  ["peeringdb_requirement_failed", "PeeringDB requirement not met"],
  ["no_peeringdb_identity", "ASN not held through PeeringDB"],
  ["peeringdb_perms_insufficient", "PeeringDB permissions too low"],
  ["daily_limit_reached", "Daily auto-approval limit reached"],
];

/** The queue's filter lives in the URL, so a view can be bookmarked and shared. */
export function filterFromParams(params: URLSearchParams): QueueFilter {
  const status = params.getAll("status").filter((s): s is RequestStatus => (ALL_STATUSES as string[]).includes(s));
  const asn = Number(params.get("asn"));
  const minAge = Number(params.get("age"));
  const sort = params.get("sort") as SortKey | null;
  const page = Math.max(1, Number(params.get("page")) || 1);
  const reason = params.get("reason");
  return {
    status: status.length ? status : undefined,
    asn: Number.isInteger(asn) && asn > 0 ? asn : undefined,
    network: params.get("network") || undefined,
    minAgeMinutes: Number.isInteger(minAge) && minAge > 0 ? minAge : undefined,
    reason: NEEDS_HUMAN.find(([code]) => code === reason)?.[0],
    grantLost: params.get("grant_lost") === "1" || undefined,
    sort: sort && SORTS.includes(sort) ? sort : "-created_at",
    limit: PAGE_SIZE,
    offset: (page - 1) * PAGE_SIZE,
  };
}

function SortHeader({
  label,
  field,
  sort,
  onSort,
  className,
}: {
  label: string;
  field: "created_at" | "updated_at" | "asn";
  sort: SortKey;
  onSort: (s: SortKey) => void;
  className?: string;
}) {
  const active = sort === field || sort === `-${field}`;
  const descending = sort === `-${field}`;
  return (
    <TableHead className={className} aria-sort={active ? (descending ? "descending" : "ascending") : "none"}>
      <button
        type="button"
        className="inline-flex items-center gap-1 rounded-sm uppercase hover:text-graphite"
        onClick={() => onSort(active && descending ? field : (`-${field}` as SortKey))}
      >
        {label}
        {active ? (
          descending ? (
            <ArrowDown className="size-3" aria-hidden="true" />
          ) : (
            <ArrowUp className="size-3" aria-hidden="true" />
          )
        ) : null}
      </button>
    </TableHead>
  );
}

export function AdminQueuePage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const filter = filterFromParams(params);
  const queue = useQueue(filter);
  const networks = useOnboarding();
  const [asnText, setAsnText] = React.useState(params.get("asn") ?? "");
  React.useEffect(() => {
    document.title = "Request queue · ZT-IX";
  }, []);

  function update(change: Record<string, string | string[] | null>, keepPage = false) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(change)) {
      next.delete(key);
      if (Array.isArray(value)) for (const v of value) next.append(key, v);
      else if (value) next.set(key, value);
    }
    if (!keepPage) next.delete("page");
    setParams(next, { replace: true });
  }

  function toggleStatus(status: RequestStatus) {
    const current = new Set(filter.status ?? []);
    if (current.has(status)) current.delete(status);
    else current.add(status);
    update({ status: [...current] });
  }

  const data = queue.data;
  const page = filter.offset / PAGE_SIZE + 1;
  const pages = data ? Math.max(1, Math.ceil(data.total / PAGE_SIZE)) : 1;
  const asnInvalid = asnText !== "" && !/^\d{1,10}$/.test(asnText.trim());

  return (
    <>
      <PageHeader
        eyebrow="Operations"
        title="Request queue"
        description="Every join request of the IX. Counts cover the whole IX; the list follows your filters and refreshes by itself."
      />

      {/* biome-ignore lint/a11y/useSemanticElements: a group of toggle buttons, not a form section; a fieldset would not wrap as a flex row */}
      <div className="mb-4 flex flex-wrap gap-2" role="group" aria-label="Filter by status">
        {ALL_STATUSES.map((s) => {
          const on = filter.status?.includes(s) ?? false;
          return (
            <button
              key={s}
              type="button"
              aria-pressed={on}
              onClick={() => toggleStatus(s)}
              className={cn(
                "inline-flex items-center gap-2 rounded-full border px-3 py-1 text-sm transition-colors",
                on ? "border-teal bg-teal text-paper" : "border-line bg-paper text-graphite hover:bg-mist",
              )}
            >
              {STATUS[s].label}
              <span className={cn("font-mono text-xs", on ? "text-paper" : "text-slate")}>{data?.counts[s] ?? 0}</span>
            </button>
          );
        })}
      </div>

      <Card className="mb-4 p-4 marble-faint">
        <form
          className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4"
          onSubmit={(e) => {
            e.preventDefault();
            if (!asnInvalid) update({ asn: asnText.trim() || null });
          }}
          aria-label="Queue filters"
        >
          <div className="grid gap-1.5">
            <Label htmlFor="f-asn">ASN</Label>
            <Input
              id="f-asn"
              inputMode="numeric"
              className="font-mono"
              placeholder="e.g. 213035"
              value={asnText}
              aria-invalid={asnInvalid}
              aria-describedby={asnInvalid ? "f-asn-error" : undefined}
              onChange={(e) => setAsnText(e.target.value)}
              onBlur={() => {
                if (!asnInvalid && (asnText.trim() || null) !== params.get("asn"))
                  update({ asn: asnText.trim() || null });
              }}
            />
            {asnInvalid ? (
              <span id="f-asn-error" className="text-xs text-danger">
                Digits only, without "AS".
              </span>
            ) : null}
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="f-network">IX network</Label>
            <NativeSelect
              id="f-network"
              value={filter.network ?? ""}
              onChange={(e) => update({ network: e.target.value || null })}
            >
              <option value="">All networks</option>
              {(networks.data?.networks ?? []).map((n) => (
                <option key={n.zt_network_id} value={n.zt_network_id}>
                  {n.name}
                </option>
              ))}
            </NativeSelect>
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="f-age">Age</Label>
            <NativeSelect
              id="f-age"
              value={params.get("age") ?? ""}
              onChange={(e) => update({ age: e.target.value || null })}
            >
              {AGES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </NativeSelect>
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="f-reason">Needs a human because</Label>
            <NativeSelect
              id="f-reason"
              value={filter.reason ?? ""}
              onChange={(e) => update({ reason: e.target.value || null })}
            >
              <option value="">Any reason</option>
              {NEEDS_HUMAN.map(([code, label]) => (
                <option key={code} value={code}>
                  {label}
                </option>
              ))}
            </NativeSelect>
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="f-grant">Requester's grant</Label>
            <NativeSelect
              id="f-grant"
              value={filter.grantLost ? "1" : ""}
              onChange={(e) => update({ grant_lost: e.target.value || null })}
            >
              <option value="">Any</option>
              <option value="1">Lost at PeeringDB</option>
            </NativeSelect>
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="f-sort">Sort by</Label>
            <NativeSelect id="f-sort" value={filter.sort} onChange={(e) => update({ sort: e.target.value })}>
              <option value="-created_at">Newest first</option>
              <option value="created_at">Oldest first</option>
              <option value="-updated_at">Recently changed</option>
              <option value="updated_at">Least recently changed</option>
              <option value="asn">ASN, ascending</option>
              <option value="-asn">ASN, descending</option>
            </NativeSelect>
          </div>
          <button type="submit" className="sr-only">
            Apply filters
          </button>
        </form>
      </Card>

      {queue.isPending ? (
        <Skeleton className="h-64 w-full" />
      ) : queue.isError ? (
        <ErrorPanel error={queue.error} onRetry={() => void queue.refetch()} />
      ) : data && data.items.length === 0 ? (
        <Empty title="No requests match these filters">
          {params.toString() ? (
            <Button
              variant="outline"
              className="mt-2"
              onClick={() => {
                setAsnText("");
                setParams(new URLSearchParams(), { replace: true });
              }}
            >
              Clear filters
            </Button>
          ) : (
            <p>Requests appear here as members submit them.</p>
          )}
        </Empty>
      ) : data ? (
        <Card className="overflow-hidden">
          <Table aria-label="Join requests">
            <TableHeader>
              <TableRow className="hover:bg-transparent">
                <TableHead>Request</TableHead>
                <SortHeader label="ASN" field="asn" sort={filter.sort} onSort={(s) => update({ sort: s })} />
                <TableHead className="hidden md:table-cell">Network</TableHead>
                <TableHead className="hidden sm:table-cell">Node</TableHead>
                <TableHead>Status</TableHead>
                <SortHeader
                  label="Submitted"
                  field="created_at"
                  sort={filter.sort}
                  onSort={(s) => update({ sort: s })}
                  className="hidden lg:table-cell"
                />
                <SortHeader
                  label="Changed"
                  field="updated_at"
                  sort={filter.sort}
                  onSort={(s) => update({ sort: s })}
                  className="hidden md:table-cell"
                />
              </TableRow>
            </TableHeader>
            <TableBody>
              {data.items.map((r, i) => (
                <TableRow
                  key={r.id}
                  className="stagger cursor-pointer"
                  style={{ "--i": Math.min(i, 15) } as React.CSSProperties}
                  onClick={(e) => {
                    if ((e.target as HTMLElement).closest("a")) return;
                    navigate(`/admin/requests/${r.id}`);
                  }}
                >
                  <TableCell>
                    <Link to={`/admin/requests/${r.id}`} className="font-mono text-sm text-harbor hover:underline">
                      {shortId(r.id)}
                    </Link>
                  </TableCell>
                  <TableCell>
                    <Mono>AS{r.asn}</Mono>
                  </TableCell>
                  <TableCell className="hidden md:table-cell">{r.network_name}</TableCell>
                  <TableCell className="hidden sm:table-cell">
                    <Mono>{r.node_id}</Mono>
                  </TableCell>
                  <TableCell>
                    <StatusBadge status={r.status} />
                    {r.grant_lost_at ? <GrantLostBadge since={formatDateTime(r.grant_lost_at)} /> : null}
                    {r.last_error && r.status === "failed" ? (
                      <span className="ml-2 hidden font-mono text-xs text-danger xl:inline">{r.last_error.code}</span>
                    ) : null}
                  </TableCell>
                  <TableCell className="hidden text-slate lg:table-cell">
                    <time dateTime={r.created_at} title={formatDateTime(r.created_at)}>
                      {formatRelative(r.created_at)}
                    </time>
                  </TableCell>
                  <TableCell className="hidden text-slate md:table-cell">
                    <time dateTime={r.updated_at} title={formatDateTime(r.updated_at)}>
                      {formatRelative(r.updated_at)}
                    </time>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          <nav
            className="flex flex-wrap items-center justify-between gap-2 border-t border-line px-4 py-3 text-sm text-slate"
            aria-label="Pages"
          >
            <span aria-live="polite">
              {data.total === 0
                ? "0"
                : `${filter.offset + 1}–${Math.min(filter.offset + data.items.length, data.total)}`}{" "}
              of {data.total}
            </span>
            <div className="flex items-center gap-2">
              <Button
                variant="outline"
                size="sm"
                disabled={page <= 1}
                onClick={() => update({ page: String(page - 1) }, true)}
              >
                <ChevronLeft aria-hidden="true" />
                Previous
              </Button>
              <span>
                Page {page} of {pages}
              </span>
              <Button
                variant="outline"
                size="sm"
                disabled={page >= pages}
                onClick={() => update({ page: String(page + 1) }, true)}
              >
                Next
                <ChevronRight aria-hidden="true" />
              </Button>
            </div>
          </nav>
        </Card>
      ) : null}
    </>
  );
}
