import type { RequestStatus } from "@/api/types";
import { Badge } from "@/components/ui/badge";
import { STATUS } from "@/lib/status";
import { cn } from "@/lib/utils";

export function StatusBadge({ status }: { status: RequestStatus }) {
  const s = STATUS[status];
  const moving = status === "approved" || status === "provisioning" || status === "deprovisioning";
  return (
    <Badge tone={s.tone} data-status={status}>
      <span
        aria-hidden="true"
        className={cn("size-1.5 rounded-full bg-current", moving && "motion-safe:animate-pulse")}
      />
      {s.label}
    </Badge>
  );
}
