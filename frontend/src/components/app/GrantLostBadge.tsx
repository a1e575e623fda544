import { AlertTriangle } from "lucide-react";
import { Badge } from "@/components/ui/badge";

/** The requester lost the right to act for the ASN (PeeringDB said so); an admin decides. */
export function GrantLostBadge({ since }: { since: string }) {
  return (
    <Badge tone="danger" title={`The requester lost this ASN at PeeringDB (${since})`}>
      <AlertTriangle className="size-3" aria-hidden="true" />
      Grant lost
    </Badge>
  );
}
