import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Card, CardContent } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { useNotificationSettings, useSetEmail } from "@/hooks/memberTools";

/** E-mail about your requests: on or off, and where it goes. */
export function EmailSetting() {
  const settings = useNotificationSettings();
  const setEmail = useSetEmail();
  if (settings.isPending) return <Skeleton className="h-24 w-full max-w-2xl" />;
  if (settings.isError) return <ErrorPanel error={settings.error} onRetry={() => void settings.refetch()} />;
  const s = settings.data;
  return (
    <Card className="max-w-2xl">
      <CardContent className="grid gap-3 pt-6">
        <h2 className="text-lg font-semibold text-teal-deep">E-mail</h2>
        <label className="flex items-start gap-3 text-sm text-graphite">
          <input
            type="checkbox"
            className="mt-0.5 size-4 accent-harbor"
            checked={s.email}
            disabled={setEmail.isPending}
            onChange={(e) => setEmail.mutate(e.target.checked)}
          />
          <span>
            Send me e-mail when my requests are approved, rejected, connected, failed or removed
            {s.email_address ? (
              <>
                {" "}
                (to <span className="font-mono">{s.email_address}</span>)
              </>
            ) : null}
            .
          </span>
        </label>
        {!s.email_address ? (
          <p className="text-sm text-slate">Your account has no e-mail address; ask the IX team to add one.</p>
        ) : null}
        {!s.email_configured ? <p className="text-sm text-slate">This IX does not send e-mail at the moment.</p> : null}
        {setEmail.isError ? <ErrorPanel error={setEmail.error} /> : null}
      </CardContent>
    </Card>
  );
}
