import { useQueryClient } from "@tanstack/react-query";
import { ArrowLeft, Loader2 } from "lucide-react";
import * as React from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiError, api, setCsrfToken, unwrap } from "@/api/client";
import { Brand } from "@/components/app/Brand";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { keys } from "@/hooks/queries";
import { describeError } from "@/lib/errors";
import { takeNext } from "@/lib/session";

/** PeeringDB sends the browser here with ?code&state (or ?error&state); the API finishes. */
export function AuthCallbackPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [error, setError] = React.useState<unknown>(null);
  const started = React.useRef(false);

  React.useEffect(() => {
    document.title = "Logging in · ZT-IX";
    if (started.current) return; // StrictMode runs effects twice; a state is single-use
    started.current = true;
    const state = params.get("state");
    if (!state) {
      setError(new ApiError(400, "state_invalid", "no state on the callback URL"));
      return;
    }
    const code = params.get("code");
    const body = {
      state,
      code: code ?? null,
      error: params.get("error"),
      error_description: params.get("error_description"),
    };
    unwrap(api.POST("/api/v1/auth/peeringdb/callback", { body }))
      .then((me) => {
        setCsrfToken(me.csrf_token);
        client.setQueryData(keys.me, me);
        navigate(takeNext() ?? "/", { replace: true });
      })
      .catch(setError);
  }, [client, navigate, params]);

  const text = error ? describeError(error) : null;
  return (
    <main className="grid min-h-dvh place-items-center p-4 marble">
      <div className="w-full max-w-md animate-page-enter">
        <div className="mb-6">
          <Brand />
        </div>
        <Card>
          <CardContent className="pt-6">
            {text ? (
              <div role="alert">
                <h1 className="text-xl font-semibold text-teal-deep">PeeringDB login did not finish</h1>
                <p className="mt-2 text-graphite">{text.message}</p>
                {text.hint ? <p className="mt-1 text-sm text-slate">{text.hint}</p> : null}
                <Button asChild className="mt-5">
                  <Link to="/login">
                    <ArrowLeft aria-hidden="true" />
                    Back to log in
                  </Link>
                </Button>
              </div>
            ) : (
              <div role="status" className="flex items-center gap-3">
                <Loader2 className="size-5 text-harbor motion-safe:animate-spin" aria-hidden="true" />
                <h1 className="text-lg font-medium text-teal-deep">Finishing your PeeringDB login…</h1>
              </div>
            )}
          </CardContent>
        </Card>
      </div>
    </main>
  );
}
