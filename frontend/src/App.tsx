import { useQueryClient } from "@tanstack/react-query";
import * as React from "react";
import { Navigate, Route, Routes, useLocation, useNavigate } from "react-router";
import { setCsrfToken } from "@/api/client";
import type { Me } from "@/api/types";
import { ErrorPanel } from "@/components/app/bits";
import { Shell } from "@/components/app/Shell";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useMe } from "@/hooks/queries";
import { onSessionLost } from "@/lib/session";
import { AdminControllerPage } from "@/pages/admin/ControllerPage";
import { AdminQueuePage } from "@/pages/admin/QueuePage";
import { AdminRequestPage } from "@/pages/admin/RequestPage";
import { AdminRouteServersPage } from "@/pages/admin/RouteServersPage";
import { AuthCallbackPage } from "@/pages/AuthCallbackPage";
import { DashboardPage } from "@/pages/DashboardPage";
import { LoginPage } from "@/pages/LoginPage";
import { NotFoundPage } from "@/pages/NotFoundPage";
import { OnboardingPage } from "@/pages/OnboardingPage";
import { RequestPage } from "@/pages/RequestPage";

/** Sends the user to /login (and back afterwards) when any call finds the session gone. */
function SessionWatcher() {
  const navigate = useNavigate();
  const location = useLocation();
  const client = useQueryClient();
  const here = React.useRef(location);
  here.current = location;
  React.useEffect(
    () =>
      onSessionLost(() => {
        const { pathname, search } = here.current;
        if (pathname === "/login" || pathname.startsWith("/auth/")) return;
        setCsrfToken(null);
        client.clear();
        client.setQueryData(keys.me, null);
        const next = encodeURIComponent(pathname + search);
        navigate(`/login?next=${next}&reason=expired`, { replace: true });
      }),
    [client, navigate],
  );
  return null;
}

function Loading() {
  return (
    <div className="mx-auto flex max-w-3xl flex-col gap-4 p-8" aria-busy="true" aria-label="Loading">
      <Skeleton className="h-8 w-56" />
      <Skeleton className="h-4 w-80" />
      <Skeleton className="h-40 w-full" />
    </div>
  );
}

function RequireMe({ children }: { children: (me: Me) => React.ReactNode }) {
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
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return <>{children(me.data)}</>;
}

function AdminOnly({ me, children }: { me: Me; children: React.ReactNode }) {
  // Not an admin: the page does not exist for them, as the API answers.
  return me.role === "admin" ? <>{children}</> : <NotFoundPage />;
}

function Home({ me }: { me: Me }) {
  const memberToo = me.role !== "admin" || me.asns.length > 0;
  return <Navigate to={me.role === "admin" && !memberToo ? "/admin/requests" : "/dashboard"} replace />;
}

export function App() {
  return (
    <>
      <SessionWatcher />
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/auth/callback" element={<AuthCallbackPage />} />
        <Route
          element={<RequireMe>{(me) => <Shell me={me} />}</RequireMe>}
        >
          <Route index element={<RequireMe>{(me) => <Home me={me} />}</RequireMe>} />
          <Route path="dashboard" element={<DashboardPage />} />
          <Route path="onboarding" element={<OnboardingPage />} />
          <Route path="requests/:id" element={<RequestPage />} />
          <Route
            path="admin/requests"
            element={<RequireMe>{(me) => <AdminOnly me={me}><AdminQueuePage /></AdminOnly>}</RequireMe>}
          />
          <Route
            path="admin/requests/:id"
            element={<RequireMe>{(me) => <AdminOnly me={me}><AdminRequestPage /></AdminOnly>}</RequireMe>}
          />
          <Route
            path="admin/route-servers"
            element={<RequireMe>{(me) => <AdminOnly me={me}><AdminRouteServersPage /></AdminOnly>}</RequireMe>}
          />
          <Route
            path="admin/controller"
            element={<RequireMe>{(me) => <AdminOnly me={me}><AdminControllerPage /></AdminOnly>}</RequireMe>}
          />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Routes>
    </>
  );
}
