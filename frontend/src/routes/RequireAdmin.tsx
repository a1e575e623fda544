import { Outlet } from "react-router";
import { useMember } from "@/hooks/useMember";
import { NotFoundPage } from "@/pages/NotFoundPage";

/** Layout route for the admin pages. Not an admin: the page does not exist for them, as the
 *  API answers. */
export function RequireAdmin() {
  const me = useMember();
  return me.role === "admin" ? <Outlet context={me} /> : <NotFoundPage />;
}
