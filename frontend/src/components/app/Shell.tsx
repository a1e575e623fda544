import { useQueryClient } from "@tanstack/react-query";
import {
  Bell,
  Cpu,
  Gauge,
  KeyRound,
  LayoutDashboard,
  ListChecks,
  LogOut,
  Menu,
  Network,
  PlusCircle,
  ScrollText,
  Server,
  ShieldCheck,
  Users,
} from "lucide-react";
import * as React from "react";
import { NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { api, setCsrfToken, unwrap } from "@/api/client";
import type { Me } from "@/api/types";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog, DialogDescription, DialogTitle, SheetContent } from "@/components/ui/dialog";
import { keys } from "@/hooks/queries";
import { useMember } from "@/hooks/useMember";
import { cn } from "@/lib/utils";
import { Brand } from "./Brand";

interface NavItem {
  to: string;
  label: string;
  icon: React.ComponentType<{ className?: string }>;
  end?: boolean;
}

function navFor(me: Me): Array<{ heading: string; items: NavItem[] }> {
  const groups: Array<{ heading: string; items: NavItem[] }> = [];
  if (me.role !== "admin" || me.asns.length > 0) {
    groups.push({
      heading: "Peering",
      items: [
        { to: "/dashboard", label: "My requests", icon: LayoutDashboard },
        { to: "/onboarding", label: "Join the IX", icon: PlusCircle },
      ],
    });
  }
  if (me.role === "admin") {
    groups.push({
      heading: "Operations",
      items: [
        { to: "/admin/requests", label: "Request queue", icon: ListChecks },
        { to: "/admin/route-servers", label: "Route servers", icon: Server },
        { to: "/admin/irr", label: "IRR filtering", icon: ShieldCheck },
        { to: "/admin/controller", label: "Controller", icon: Cpu },
        { to: "/admin/networks", label: "Networks", icon: Network },
        { to: "/admin/users", label: "Users", icon: Users },
        { to: "/admin/tokens", label: "All API tokens", icon: KeyRound },
        { to: "/admin/audit", label: "Audit trail", icon: ScrollText },
      ],
    });
  }
  groups.push({
    heading: "Member tools",
    items: [
      { to: "/directory", label: "Member directory", icon: Users },
      { to: "/notifications", label: "Notifications", icon: Bell },
      { to: "/tokens", label: "API tokens", icon: KeyRound },
    ],
  });
  return groups;
}

function Nav({ me, onNavigate }: { me: Me; onNavigate?: () => void }) {
  return (
    <nav aria-label="Main" className="flex flex-col gap-6 px-3">
      {navFor(me).map((group) => (
        <div key={group.heading}>
          <div className="px-3 pb-2 text-[0.7rem] font-semibold tracking-[0.08em] text-taupe uppercase">
            {group.heading}
          </div>
          <ul className="flex flex-col gap-0.5">
            {group.items.map((item) => (
              <li key={item.to}>
                <NavLink
                  to={item.to}
                  end={item.end}
                  onClick={onNavigate}
                  className={({ isActive }) =>
                    cn(
                      "group relative flex items-center gap-3 rounded-md px-3 py-2 text-sm text-graphite transition-colors hover:bg-paper/70",
                      isActive && "bg-paper font-medium text-teal-deep shadow-soft",
                    )
                  }
                >
                  {({ isActive }) => (
                    <>
                      <span
                        aria-hidden="true"
                        className={cn(
                          "absolute top-2 bottom-2 left-0 w-[3px] rounded-full bg-clay opacity-0 transition-opacity",
                          isActive && "opacity-100",
                        )}
                      />
                      <item.icon className={cn("size-4 text-slate", isActive && "text-harbor")} />
                      {item.label}
                    </>
                  )}
                </NavLink>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </nav>
  );
}

function SidebarFooter({ me }: { me: Me }) {
  return (
    <div className="mt-auto border-t border-fog/70 px-6 py-4 text-xs text-slate">
      <div className="font-medium text-graphite">{me.display_name || me.username}</div>
      <div className="truncate">{me.asns.length ? me.asns.map((a) => `AS${a.asn}`).join(", ") : "no ASNs"}</div>
    </div>
  );
}

/** Layout route of the logged-in pages: navigation, header, and the page in `<main>`. */
export function Shell() {
  const me = useMember();
  const [open, setOpen] = React.useState(false);
  const location = useLocation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const mainRef = React.useRef<HTMLElement>(null);

  // Move focus to the new page's heading area for screen readers and keyboards.
  const first = React.useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the new path is the trigger, not a value the effect reads
  React.useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    mainRef.current?.focus({ preventScroll: true });
    window.scrollTo({ top: 0 });
  }, [location.pathname]);

  async function logout() {
    try {
      await unwrap(api.POST("/api/v1/auth/logout"));
    } catch {
      /* the session may be gone already */
    }
    setCsrfToken(null);
    client.clear();
    client.setQueryData(keys.me, null);
    navigate("/login", { replace: true });
  }

  return (
    <div className="min-h-dvh lg:grid lg:grid-cols-[16rem_1fr]">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-paper px-3 py-2 shadow-lift focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <aside className="hidden border-r border-fog/70 marble lg:block">
        <div className="sticky top-0 flex h-dvh flex-col">
          <div className="px-6 pt-5 pb-6">
            <Brand />
          </div>
          <Nav me={me} />
          <SidebarFooter me={me} />
        </div>
      </aside>

      <Dialog open={open} onOpenChange={setOpen}>
        <SheetContent aria-describedby={undefined}>
          <DialogTitle className="sr-only">Menu</DialogTitle>
          <DialogDescription className="sr-only">Pages of ZT-IX</DialogDescription>
          <div className="px-6 pt-5 pb-6">
            <Brand />
          </div>
          <Nav me={me} onNavigate={() => setOpen(false)} />
          <SidebarFooter me={me} />
        </SheetContent>
      </Dialog>

      <div className="flex min-w-0 flex-col">
        <header className="sticky top-0 z-30 flex h-14 items-center gap-3 border-b border-line bg-paper/90 px-4 backdrop-blur sm:px-6">
          <Button
            variant="ghost"
            size="icon"
            className="lg:hidden"
            aria-label="Open the menu"
            aria-expanded={open}
            onClick={() => setOpen(true)}
          >
            <Menu />
          </Button>
          <span className="lg:hidden">
            <Brand compact />
          </span>
          <div className="ml-auto flex items-center gap-2 sm:gap-3">
            <span className="hidden text-sm text-graphite sm:inline">{me.display_name || me.username}</span>
            <Badge tone={me.role === "admin" ? "warm" : "mist"}>
              {me.role === "admin" ? <Gauge className="size-3" aria-hidden="true" /> : null}
              {me.role === "admin" ? "IX admin" : "Operator"}
            </Badge>
            <Button variant="ghost" size="sm" onClick={logout}>
              <LogOut aria-hidden="true" />
              <span className="hidden sm:inline">Log out</span>
              <span className="sr-only sm:hidden">Log out</span>
            </Button>
          </div>
        </header>
        <main
          id="main"
          ref={mainRef}
          tabIndex={-1}
          className="mx-auto w-full max-w-6xl flex-1 px-4 py-6 outline-none sm:px-6 sm:py-8"
        >
          <div key={location.pathname} className="animate-page-enter">
            <Outlet context={me} />
          </div>
        </main>
      </div>
    </div>
  );
}
