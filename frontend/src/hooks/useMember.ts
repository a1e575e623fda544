import { useOutletContext } from "react-router";
import type { Me } from "@/api/types";

/** The logged-in user, in a route below the `RequireMember` layout route. A layout route in
 *  between passes it on with `<Outlet context={me} />`. */
export function useMember(): Me {
  return useOutletContext<Me>();
}
