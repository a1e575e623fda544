import type * as React from "react";
import { cn } from "@/lib/utils";

export function Field({
  label,
  children,
  mono,
  className,
}: {
  label: string;
  children: React.ReactNode;
  mono?: boolean;
  className?: string;
}) {
  return (
    <div className={cn("min-w-0", className)}>
      <dt className="text-xs font-medium tracking-wide text-slate uppercase">{label}</dt>
      <dd className={cn("mt-0.5 break-words text-graphite", mono && "font-mono text-[0.875rem]")}>{children}</dd>
    </div>
  );
}
