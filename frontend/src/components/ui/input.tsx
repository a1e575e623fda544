import * as React from "react";
import { cn } from "@/lib/utils";

export const fieldClass =
  "flex h-9 w-full rounded-md border border-fog bg-paper px-3 py-1 text-sm text-graphite shadow-xs transition-[border-color,box-shadow] placeholder:text-slate/80 focus-visible:border-harbor focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-harbor/70 disabled:cursor-not-allowed disabled:opacity-60 aria-[invalid=true]:border-danger";

export const Input = React.forwardRef<HTMLInputElement, React.InputHTMLAttributes<HTMLInputElement>>(
  ({ className, type = "text", ...props }, ref) => (
    <input ref={ref} type={type} className={cn(fieldClass, className)} {...props} />
  ),
);
Input.displayName = "Input";

export const Textarea = React.forwardRef<HTMLTextAreaElement, React.TextareaHTMLAttributes<HTMLTextAreaElement>>(
  ({ className, ...props }, ref) => (
    <textarea ref={ref} className={cn(fieldClass, "min-h-20 h-auto py-2", className)} {...props} />
  ),
);
Textarea.displayName = "Textarea";

/** shadcn's native-select: a real <select>, styled, keyboard and screen-reader native. */
export const NativeSelect = React.forwardRef<HTMLSelectElement, React.SelectHTMLAttributes<HTMLSelectElement>>(
  ({ className, children, ...props }, ref) => (
    <div className="relative">
      <select ref={ref} className={cn(fieldClass, "appearance-none pr-8", className)} {...props}>
        {children}
      </select>
      <svg
        aria-hidden="true"
        viewBox="0 0 16 16"
        className="pointer-events-none absolute top-1/2 right-2.5 size-4 -translate-y-1/2 text-slate"
      >
        <path d="M4 6l4 4 4-4" fill="none" stroke="currentColor" strokeWidth="1.5" />
      </svg>
    </div>
  ),
);
NativeSelect.displayName = "NativeSelect";
