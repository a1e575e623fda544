import { useQueryClient } from "@tanstack/react-query";
import { Info, KeyRound, LogIn } from "lucide-react";
import * as React from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { api, setCsrfToken, unwrap } from "@/api/client";
import { Brand } from "@/components/app/Brand";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { keys, useMe } from "@/hooks/queries";
import { rememberNext, safeNext } from "@/lib/session";

function Divider() {
  return (
    <div className="my-5 flex items-center gap-3 text-xs text-slate" aria-hidden="true">
      <span className="h-px flex-1 bg-line" />
      or with a local account
      <span className="h-px flex-1 bg-line" />
    </div>
  );
}

export function LoginPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const expired = params.get("reason") === "expired";
  const me = useMe();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [username, setUsername] = React.useState("");
  const [password, setPassword] = React.useState("");
  const [error, setError] = React.useState<unknown>(null);
  const [busy, setBusy] = React.useState<"local" | "peeringdb" | null>(null);

  React.useEffect(() => {
    document.title = "Log in · ZT-IX";
  }, []);

  if (me.data) return <Navigate to={next ?? "/"} replace />;

  async function localLogin(event: React.FormEvent) {
    event.preventDefault();
    setError(null);
    setBusy("local");
    try {
      const user = await unwrap(
        api.POST("/api/v1/auth/local/login", { body: { username: username.trim(), password } }),
      );
      setCsrfToken(user.csrf_token);
      client.setQueryData(keys.me, user);
      navigate(next ?? "/", { replace: true });
    } catch (e) {
      setError(e);
      setBusy(null);
    }
  }

  async function peeringdbLogin() {
    setError(null);
    setBusy("peeringdb");
    try {
      const { authorize_url } = await unwrap(api.POST("/api/v1/auth/peeringdb/start"));
      rememberNext(next);
      window.location.assign(authorize_url);
    } catch (e) {
      setError(e);
      setBusy(null);
    }
  }

  return (
    <div className="grid min-h-dvh lg:grid-cols-[1.1fr_1fr]">
      <section className="relative hidden flex-col justify-between overflow-hidden border-r border-fog/70 p-10 marble lg:flex">
        <Brand />
        <div className="max-w-md animate-page-enter">
          <h2 className="text-3xl font-semibold tracking-tight text-teal-deep">Peer at a calm, well-kept exchange.</h2>
          <p className="mt-3 text-slate">
            Ask to join with your ASN and your router's ZeroTier node ID. ZT-IX admits it to the peering LAN, gives it
            addresses and sets up your sessions on every route server.
          </p>
          <ol className="mt-6 grid gap-2 text-sm text-graphite">
            {[
              "Log in with PeeringDB",
              "Pick your ASN and enter your node ID",
              "Watch it go active, then bring up BGP",
            ].map((step, i) => (
              <li key={step} className="flex items-center gap-3 stagger" style={{ "--i": i } as React.CSSProperties}>
                <span className="grid size-6 place-items-center rounded-full bg-paper font-mono text-xs text-clay shadow-soft">
                  {i + 1}
                </span>
                {step}
              </li>
            ))}
          </ol>
        </div>
        <p className="text-xs text-taupe">
          Sessions are private to this browser; nothing is shared with third parties.
        </p>
      </section>

      <main className="flex items-center justify-center p-4 sm:p-8">
        <div className="w-full max-w-sm animate-page-enter">
          <div className="mb-6 lg:hidden">
            <Brand />
          </div>
          <h1 className="mb-1 text-2xl font-semibold tracking-tight text-teal-deep">Log in</h1>
          <p className="mb-5 text-sm text-slate">Members use their PeeringDB account.</p>
          {expired ? (
            <div
              role="status"
              className="mb-4 flex gap-2 rounded-lg border border-fog bg-mist p-3 text-sm text-teal-deep"
            >
              <Info className="mt-0.5 size-4 shrink-0 text-harbor" aria-hidden="true" />
              Your session has expired. Log in again to carry on where you were.
            </div>
          ) : null}
          {error ? (
            <div className="mb-4">
              <ErrorPanel error={error} />
            </div>
          ) : null}
          <Card>
            <CardHeader>
              <CardTitle>Network operators</CardTitle>
              <CardDescription>Your ASNs come from PeeringDB.</CardDescription>
            </CardHeader>
            <CardContent>
              <Button className="w-full" size="lg" onClick={peeringdbLogin} disabled={busy !== null}>
                <LogIn aria-hidden="true" />
                {busy === "peeringdb" ? "Opening PeeringDB…" : "Log in with PeeringDB"}
              </Button>
              <Divider />
              <form className="grid gap-4" onSubmit={localLogin} aria-label="Local account">
                <div className="grid gap-2">
                  <Label htmlFor="username">Username</Label>
                  <Input
                    id="username"
                    autoComplete="username"
                    value={username}
                    onChange={(e) => setUsername(e.target.value)}
                    required
                  />
                </div>
                <div className="grid gap-2">
                  <Label htmlFor="password">Password</Label>
                  <Input
                    id="password"
                    type="password"
                    autoComplete="current-password"
                    value={password}
                    onChange={(e) => setPassword(e.target.value)}
                    required
                  />
                </div>
                <Button type="submit" variant="outline" disabled={busy !== null}>
                  <KeyRound aria-hidden="true" />
                  {busy === "local" ? "Logging in…" : "Log in"}
                </Button>
              </form>
            </CardContent>
          </Card>
        </div>
      </main>
    </div>
  );
}
