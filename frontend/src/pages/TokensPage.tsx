import * as React from "react";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { PageHeader } from "@/components/app/PageHeader";
import { NewTokenForm } from "@/components/tokens/NewTokenForm";
import { TokenList } from "@/components/tokens/TokenList";
import { TokenSecret } from "@/components/tokens/TokenSecret";
import { Skeleton } from "@/components/ui/skeleton";
import { type ApiTokenCreated, useTokens } from "@/hooks/tokens";
import { useMember } from "@/hooks/useMember";

/** API tokens for automation: create (the secret shown once), list, revoke. */
export function TokensPage() {
  const me = useMember();
  const tokens = useTokens();
  const [created, setCreated] = React.useState<ApiTokenCreated | null>(null);
  React.useEffect(() => {
    document.title = "API tokens · ZT-IX";
  }, []);

  return (
    <>
      <PageHeader
        eyebrow="Automation"
        title="API tokens"
        description="Let your provisioning systems use the ZT-IX API. A token is never worth more than you hold now: when you lose an ASN or your account is disabled, its tokens lose it too."
      />
      {created ? <TokenSecret created={created} onDone={() => setCreated(null)} /> : null}
      <NewTokenForm me={me} onCreated={setCreated} />
      <h2 className="mt-10 mb-3 text-lg font-semibold text-teal-deep">Your tokens</h2>
      {tokens.isPending ? (
        <Skeleton className="h-32 w-full" />
      ) : tokens.isError ? (
        <ErrorPanel error={tokens.error} onRetry={() => void tokens.refetch()} />
      ) : (
        <TokenList tokens={tokens.data} />
      )}
    </>
  );
}
