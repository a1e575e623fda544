import * as React from "react";
import { ConfirmAction } from "@/components/app/ConfirmDialog";
import { CopyButton } from "@/components/app/CopyButton";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { useCreateWebhook, useDeleteWebhook, useWebhooks, type WebhookCreated } from "@/hooks/memberTools";

/** Webhooks: add one (its signing secret shown once), list, delete. */
export function Webhooks() {
  const hooks = useWebhooks();
  const create = useCreateWebhook();
  const remove = useDeleteWebhook();
  const [url, setUrl] = React.useState("");
  const [created, setCreated] = React.useState<WebhookCreated | null>(null);

  function submit(event: React.FormEvent) {
    event.preventDefault();
    if (!url.trim()) return;
    create.mutate(url.trim(), {
      onSuccess: (answer) => {
        setCreated(answer);
        setUrl("");
      },
    });
  }

  return (
    <Card className="max-w-2xl">
      <CardContent className="grid gap-4 pt-6">
        <h2 className="text-lg font-semibold text-teal-deep">Webhooks</h2>
        <p className="text-sm text-slate">
          ZT-IX POSTs each event as JSON, signed in <code className="font-mono">X-ZTIX-Signature</code>:{" "}
          <code className="font-mono">sha256=</code> HMAC-SHA256 of{" "}
          <code className="font-mono">&lt;X-ZTIX-Timestamp&gt;.&lt;body&gt;</code> under the webhook's secret. A
          receiver that is down gets it later.
        </p>
        {created ? (
          <div className="rounded-lg border border-[#bcd9cd] bg-ok-soft p-4 text-sm" data-testid="webhook-secret">
            <p className="font-medium text-teal-deep">Signing secret for {created.webhook.url}</p>
            <p className="text-graphite">Copy it now: it is shown only this once.</p>
            <div className="mt-2 flex items-center gap-2">
              <code className="min-w-0 flex-1 truncate rounded-md border border-line bg-paper px-3 py-2 font-mono">
                {created.secret}
              </code>
              <CopyButton text={created.secret} label="Copy the signing secret" />
            </div>
          </div>
        ) : null}
        {hooks.isError ? <ErrorPanel error={hooks.error} onRetry={() => void hooks.refetch()} /> : null}
        {hooks.data?.length ? (
          <ul className="grid gap-2" aria-label="Your webhooks">
            {hooks.data.map((h) => (
              <li key={h.id} className="flex items-center gap-3 rounded-md border border-line px-3 py-2">
                <span className="min-w-0 flex-1 truncate font-mono text-sm">{h.url}</span>
                <ConfirmAction
                  trigger={
                    <>
                      Delete<span className="sr-only"> the webhook {h.url}</span>
                    </>
                  }
                  triggerVariant="outline"
                  variant="destructive"
                  title="Delete this webhook?"
                  description={`Nothing more is sent to ${h.url}.`}
                  confirmLabel="Delete"
                  pending={remove.isPending}
                  onConfirm={() => remove.mutate(h.id)}
                />
              </li>
            ))}
          </ul>
        ) : hooks.isSuccess ? (
          <p className="text-sm text-slate">No webhooks yet.</p>
        ) : null}
        <form onSubmit={submit} className="grid gap-1.5" noValidate>
          <Label htmlFor="webhook-url">New webhook URL</Label>
          <div className="flex gap-2">
            <Input
              id="webhook-url"
              type="url"
              value={url}
              placeholder="https://noc.example.net/hooks/ztix"
              onChange={(e) => setUrl(e.target.value)}
            />
            <Button type="submit" disabled={create.isPending || !url.trim()}>
              Add
            </Button>
          </div>
          {create.isError ? <ErrorPanel error={create.error} /> : null}
        </form>
      </CardContent>
    </Card>
  );
}
