import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Badge } from "@/components/ui/badge";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { type Delivery, useDeliveries } from "@/hooks/memberTools";
import { formatDateTime, formatRelative } from "@/lib/format";

const TONE: Record<Delivery["status"], "ok" | "blue" | "danger" | "neutral"> = {
  sent: "ok",
  pending: "blue",
  gave_up: "danger",
  skipped: "neutral",
};
const LABEL: Record<Delivery["status"], string> = {
  sent: "sent",
  pending: "waiting",
  gave_up: "given up",
  skipped: "not sent",
};

/** Every e-mail and webhook delivery addressed to you, newest first. */
export function DeliveryLog() {
  const log = useDeliveries();
  if (log.isPending) return <Skeleton className="h-32 w-full" />;
  if (log.isError) return <ErrorPanel error={log.error} onRetry={() => void log.refetch()} />;
  if (log.data.items.length === 0)
    return <Empty title="Nothing sent yet">Messages appear here as your requests move on.</Empty>;
  return (
    <Table aria-label="Deliveries">
      <TableHeader>
        <TableRow>
          <TableHead>When</TableHead>
          <TableHead>Event</TableHead>
          <TableHead>To</TableHead>
          <TableHead>Status</TableHead>
          <TableHead>Details</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {log.data.items.map((d) => (
          <TableRow key={d.id}>
            <TableCell title={formatDateTime(d.created_at)}>{formatRelative(d.created_at)}</TableCell>
            <TableCell className="font-mono text-[0.8125rem]">{d.event}</TableCell>
            <TableCell className="max-w-64 truncate">
              {d.channel === "webhook" ? "webhook " : ""}
              <span className="font-mono text-[0.8125rem]">{d.target}</span>
            </TableCell>
            <TableCell>
              <Badge tone={TONE[d.status]}>{LABEL[d.status]}</Badge>
            </TableCell>
            <TableCell className="text-sm text-slate">
              {d.status === "pending" && d.attempts > 0
                ? `${d.attempts} failed attempt(s), next ${formatRelative(d.next_attempt_at)}: ${d.last_error ?? ""}`
                : d.status === "sent"
                  ? `after ${d.attempts} attempt(s)`
                  : (d.last_error ?? "")}
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
