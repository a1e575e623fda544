import { useQueryClient } from "@tanstack/react-query";
import * as React from "react";
import { Navigate, Route, Routes, useLocation, useNavigate } from "react-router";
import { setCsrfToken } from "@/api/client";
import { Shell } from "@/components/app/Shell";
import { keys } from "@/hooks/queries";
import { useMember } from "@/hooks/useMember";
import { onSessionLost } from "@/lib/session";
import { AuthCallbackPage } from "@/pages/AuthCallbackPage";
import { AdminAuditPage } from "@/pages/admin/AuditPage";
import { AdminControllerPage } from "@/pages/admin/ControllerPage";
import { AdminIrrPage } from "@/pages/admin/IrrPage";
import { AdminNetworksPage } from "@/pages/admin/NetworksPage";
import { AdminQueuePage } from "@/pages/admin/QueuePage";
import { AdminRequestPage } from "@/pages/admin/RequestPage";
import { AdminRouteServersPage } from "@/pages/admin/RouteServersPage";
import { AdminTokensPage } from "@/pages/admin/TokensPage";
import { AdminUsersPage } from "@/pages/admin/UsersPage";
import { DashboardPage } from "@/pages/DashboardPage";
import { DirectoryPage, VisitorDirectoryPage } from "@/pages/DirectoryPage";
import { LoginPage } from "@/pages/LoginPage";
import { NotFoundPage } from "@/pages/NotFoundPage";
import { NotificationsPage } from "@/pages/NotificationsPage";
import { OnboardingPage } from "@/pages/OnboardingPage";
import { RequestPage } from "@/pages/RequestPage";
import { TokensPage } from "@/pages/TokensPage";
import { RequireAdmin } from "@/routes/RequireAdmin";
import { RequireMember } from "@/routes/RequireMember";

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

/** The start page: the member's dashboard, or the queue for an admin with no ASN. */
function Home() {
  const me = useMember();
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
        {/* Public when the IX says so (directory.public): a visitor sees it without logging in. */}
        <Route path="/directory" element={<RequireMember visitor={<VisitorDirectoryPage />} />}>
          <Route element={<Shell />}>
            <Route index element={<DirectoryPage />} />
          </Route>
        </Route>
        <Route element={<RequireMember />}>
          <Route element={<Shell />}>
            <Route index element={<Home />} />
            <Route path="dashboard" element={<DashboardPage />} />
            <Route path="onboarding" element={<OnboardingPage />} />
            <Route path="requests/:id" element={<RequestPage />} />
            <Route path="tokens" element={<TokensPage />} />
            <Route path="notifications" element={<NotificationsPage />} />
            <Route element={<RequireAdmin />}>
              <Route path="admin/requests" element={<AdminQueuePage />} />
              <Route path="admin/requests/:id" element={<AdminRequestPage />} />
              <Route path="admin/route-servers" element={<AdminRouteServersPage />} />
              <Route path="admin/controller" element={<AdminControllerPage />} />
              <Route path="admin/networks" element={<AdminNetworksPage />} />
              <Route path="admin/irr" element={<AdminIrrPage />} />
              <Route path="admin/users" element={<AdminUsersPage />} />
              <Route path="admin/tokens" element={<AdminTokensPage />} />
              <Route path="admin/audit" element={<AdminAuditPage />} />
            </Route>
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Route>
      </Routes>
    </>
  );
}
