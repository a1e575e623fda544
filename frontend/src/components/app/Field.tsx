import type * as React from "react";
import { cn } from "@/lib/utils";

export function Field({ label, children, mono }: { label: string; children: React.ReactNode; mono?: boolean }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium tracking-wide text-slate uppercase">{label}</dt>
      <dd className={cn("mt-0.5 break-words text-graphite", mono && "font-mono text-[0.875rem]")}>{children}</dd>
    </div>
  );
}
