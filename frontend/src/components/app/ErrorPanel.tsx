import { AlertTriangle } from "lucide-react";
import { Button } from "@/components/ui/button";
import { describeError } from "@/lib/errors";

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
