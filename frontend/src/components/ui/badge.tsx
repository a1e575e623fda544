import { cva, type VariantProps } from "class-variance-authority";
import type * as React from "react";
import { cn } from "@/lib/utils";

export const badgeVariants = cva(
  "inline-flex items-center gap-1.5 rounded-full border px-2.5 py-0.5 text-xs font-medium whitespace-nowrap",
  {
    variants: {
      tone: {
        neutral: "border-line bg-soft text-slate",
        warm: "border-[#e8d3c4] bg-clay-soft text-[#7a4529]",
        blue: "border-fog bg-powder text-harbor",
        mist: "border-fog bg-mist text-teal-deep",
        ok: "border-[#bcd9cd] bg-ok-soft text-ok",
        danger: "border-[#ecc3bc] bg-danger-soft text-danger",
        taupe: "border-[#ddd3ca] bg-taupe-soft text-taupe",
      },
    },
    defaultVariants: { tone: "neutral" },
  },
);

export interface BadgeProps extends React.HTMLAttributes<HTMLSpanElement>, VariantProps<typeof badgeVariants> {}

export function Badge({ className, tone, ...props }: BadgeProps) {
  return <span className={cn(badgeVariants({ tone }), className)} {...props} />;
}
