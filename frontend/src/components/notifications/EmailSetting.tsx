import * as React from "react";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import {
  type NotificationSettings,
  useNotificationSettings,
  useSetEmail,
  useSetEmailAddress,
} from "@/hooks/memberTools";

// The API's rule (one plain address, a dotted domain), so most typos are caught before saving.
const ADDRESS = /^[^@\s<>()[\],;:\\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,63}$/;

/** Where a local account's e-mail goes: shown, and changed in place. */
function AddressForm({ settings }: { settings: NotificationSettings }) {
  const save = useSetEmailAddress();
  const [editing, setEditing] = React.useState(false);
  const [value, setValue] = React.useState(settings.email_address ?? "");
  const [touched, setTouched] = React.useState(false);
  const trimmed = value.trim();
  const problem = ADDRESS.test(trimmed) ? null : "Enter one e-mail address, like noc@example.net.";

  if (!editing)
    return (
      <div className="flex flex-wrap items-center gap-3 text-sm text-graphite">
        {settings.email_address ? (
          <span>
            Address: <span className="font-mono">{settings.email_address}</span>
          </span>
        ) : (
          <span className="text-slate">Your account has no e-mail address yet.</span>
        )}
        <Button
          size="sm"
          variant="outline"
          onClick={() => {
            setValue(settings.email_address ?? "");
            setTouched(false);
            save.reset();
            setEditing(true);
          }}
        >
          {settings.email_address ? "Change address" : "Set an address"}
        </Button>
      </div>
    );

  function submit(event: React.FormEvent) {
    event.preventDefault();
    setTouched(true);
    if (problem) return;
    save.mutate(trimmed, { onSuccess: () => setEditing(false) });
  }

  const shown = touched && problem;
  return (
    <form onSubmit={submit} noValidate className="grid max-w-md gap-1.5">
      <Label htmlFor="email-address">E-mail address</Label>
      <div className="flex gap-2">
        <Input
          id="email-address"
          type="email"
          autoComplete="email"
          value={value}
          maxLength={254}
          aria-invalid={shown ? true : undefined}
          aria-describedby={shown ? "email-address-problem" : undefined}
          onChange={(e) => setValue(e.target.value)}
        />
        <Button type="submit" size="sm" className="h-9" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save"}
        </Button>
        <Button type="button" size="sm" variant="ghost" className="h-9" onClick={() => setEditing(false)}>
          Cancel
        </Button>
      </div>
      {shown ? (
        <p id="email-address-problem" className="text-sm text-danger">
          {problem}
        </p>
      ) : null}
      {save.isError ? <ErrorPanel error={save.error} /> : null}
    </form>
  );
}

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
            {s.email_address && !s.email_address_editable ? (
              <>
                {" "}
                (to <span className="font-mono">{s.email_address}</span>)
              </>
            ) : null}
            .
          </span>
        </label>
        {s.email_address_editable ? (
          <AddressForm settings={s} />
        ) : (
          <p className="text-sm text-slate">
            {s.email_address
              ? "This is the address of your PeeringDB profile; change it on PeeringDB and log in again."
              : "Your PeeringDB profile has no e-mail address; add one on PeeringDB and log in again."}
          </p>
        )}
        {!s.email_configured ? <p className="text-sm text-slate">This IX does not send e-mail at the moment.</p> : null}
        {setEmail.isError ? <ErrorPanel error={setEmail.error} /> : null}
      </CardContent>
    </Card>
  );
}
