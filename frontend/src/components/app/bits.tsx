/** Small pieces every page uses. */
import { AlertTriangle, Check, Copy } from "lucide-react";
import * as React from "react";
import { toast } from "sonner";
import type { RequestStatus } from "@/api/types";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { describeError } from "@/lib/errors";
import { STATUS } from "@/lib/status";
import { cn } from "@/lib/utils";

/** ASNs, network IDs, node IDs, addresses and request IDs are set in Noto Sans Mono. */
export function Mono({ className, ...props }: React.HTMLAttributes<HTMLSpanElement>) {
  return <span className={cn("font-mono text-[0.92em] tracking-tight", className)} {...props} />;
}

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

/** The requester lost the right to act for the ASN (PeeringDB said so); an admin decides. */
export function GrantLostBadge({ since }: { since: string }) {
  return (
    <Badge tone="danger" title={`The requester lost this ASN at PeeringDB (${since})`}>
      <AlertTriangle className="size-3" aria-hidden="true" />
      Grant lost
    </Badge>
  );
}

export function PageHeader({
  title,
  description,
  actions,
  eyebrow,
}: {
  title: React.ReactNode;
  description?: React.ReactNode;
  actions?: React.ReactNode;
  eyebrow?: React.ReactNode;
}) {
  return (
    <div className="mb-6 flex flex-col gap-3 sm:flex-row sm:items-end sm:justify-between">
      <div className="min-w-0">
        {eyebrow ? <div className="mb-1 text-[0.8125rem] font-medium text-taupe">{eyebrow}</div> : null}
        <h1 className="text-2xl font-semibold tracking-tight text-teal-deep">{title}</h1>
        {description ? <div className="mt-1 max-w-2xl text-sm text-slate">{description}</div> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API unavailable (http, permissions): fall back to a hidden textarea.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand?.("copy") ?? false;
    area.remove();
    return ok;
  }
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = React.useState(false);
  return (
    <Button
      variant="outline"
      size="sm"
      aria-label={copied ? `${label}: copied` : label}
      onClick={async () => {
        if (await copyText(text)) {
          setCopied(true);
          toast.success("Copied to the clipboard");
          window.setTimeout(() => setCopied(false), 1600);
        } else toast.error("Could not copy; select the text instead");
      }}
    >
      {copied ? <Check aria-hidden="true" /> : <Copy aria-hidden="true" />}
      {copied ? "Copied" : "Copy"}
    </Button>
  );
}

export function CodeBlock({ code, label }: { code: string; label: string }) {
  return (
    <div className="overflow-hidden rounded-lg border border-line bg-soft">
      <div className="flex items-center justify-between gap-2 border-b border-line px-3 py-1.5 marble-faint">
        <span className="text-xs font-medium text-slate">{label}</span>
        <CopyButton text={code} label={`Copy: ${label}`} />
      </div>
      <pre className="overflow-x-auto p-3 text-[0.8125rem] leading-relaxed text-graphite" tabIndex={0} aria-label={label}>
        <code>{code}</code>
      </pre>
    </div>
  );
}

export function ErrorPanel({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const text = describeError(error);
  return (
    <div role="alert" className="flex items-start gap-3 rounded-lg border border-[#ecc3bc] bg-danger-soft p-4 text-sm">
      <AlertTriangle className="mt-0.5 size-4 shrink-0 text-danger" aria-hidden="true" />
      <div className="flex-1">
        <p className="font-medium text-danger">{text.message}</p>
        {text.hint ? <p className="mt-0.5 text-graphite">{text.hint}</p> : null}
      </div>
      {onRetry ? (
        <Button size="sm" variant="outline" onClick={onRetry}>
          Try again
        </Button>
      ) : null}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <div className="rounded-xl border border-dashed border-fog p-8 text-center marble-faint">
      <p className="font-medium text-teal-deep">{title}</p>
      {children ? <div className="mt-2 text-sm text-slate">{children}</div> : null}
    </div>
  );
}

export function Field({ label, children, mono }: { label: string; children: React.ReactNode; mono?: boolean }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium tracking-wide text-slate uppercase">{label}</dt>
      <dd className={cn("mt-0.5 break-words text-graphite", mono && "font-mono text-[0.875rem]")}>{children}</dd>
    </div>
  );
}
