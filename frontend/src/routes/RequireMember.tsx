import type * as React from "react";
import { Navigate, Outlet, useLocation } from "react-router";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Skeleton } from "@/components/ui/skeleton";
import { useMe } from "@/hooks/queries";

export function Loading() {
  return (
    <div className="mx-auto flex max-w-3xl flex-col gap-4 p-8" role="status" aria-busy="true" aria-label="Loading">
      <Skeleton className="h-8 w-56" />
      <Skeleton className="h-4 w-80" />
      <Skeleton className="h-40 w-full" />
    </div>
  );
}

/** Layout route for every page behind a login: waits for the session, sends a visitor
 *  without one to /login (and back afterwards), and hands the user to the routes below
 *  (`useMember`). With `visitor`, a visitor without a session sees that instead (a page that
 *  may be public, which sends them to /login itself when it is not). */
export function RequireMember({ visitor }: { visitor?: React.ReactElement } = {}) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Loading />;
  if (me.isError)
    return (
      <div className="mx-auto max-w-xl p-8">
        <ErrorPanel error={me.error} onRetry={() => void me.refetch()} />
      </div>
    );
  if (!me.data) {
    if (visitor) return visitor;
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return <Outlet context={me.data} />;
}
