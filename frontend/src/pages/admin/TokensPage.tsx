import * as React from "react";
import { Link } from "react-router";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { PageHeader } from "@/components/app/PageHeader";
import { TokenList } from "@/components/tokens/TokenList";
import { Skeleton } from "@/components/ui/skeleton";
import { useAdminTokens } from "@/hooks/tokens";

/** Every user's live API tokens, for an admin: who holds which, what it may do, when it
 *  was last used; revoke a leaked one at once. */
export function AdminTokensPage() {
  const tokens = useAdminTokens();
  React.useEffect(() => {
    document.title = "All API tokens · ZT-IX";
  }, []);
  return (
    <>
      <PageHeader
        eyebrow="Operations"
        title="All API tokens"
        description={
          <>
            The tokens that still work, of every member and admin, newest first. Secrets are never shown; a token is
            recognised by its first characters. Revoke one that leaked; your own are made on the{" "}
            <Link className="text-harbor underline" to="/tokens">
              API tokens
            </Link>{" "}
            page.
          </>
        }
      />
      {tokens.isPending ? (
        <Skeleton className="h-32 w-full" />
      ) : tokens.isError ? (
        <ErrorPanel error={tokens.error} onRetry={() => void tokens.refetch()} />
      ) : (
        <TokenList tokens={tokens.data} admin />
      )}
    </>
  );
}
