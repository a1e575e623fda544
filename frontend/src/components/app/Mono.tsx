import type * as React from "react";
import { cn } from "@/lib/utils";

/** ASNs, network IDs, node IDs, addresses and request IDs are set in Noto Sans Mono. */
export function Mono({ className, ...props }: React.HTMLAttributes<HTMLSpanElement>) {
  return <span className={cn("font-mono text-[0.92em] tracking-tight", className)} {...props} />;
}
