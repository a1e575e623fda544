import { LogIn } from "lucide-react";
import type * as React from "react";
import { Link } from "react-router";
import { Button } from "@/components/ui/button";
import { Brand } from "./Brand";

/** Layout of a page a visitor without a session may see (the public member directory): the
 *  brand, a way to log in and come back here, and the page in `<main>`. */
export function VisitorShell({ next, children }: { next: string; children: React.ReactNode }) {
  return (
    <div className="flex min-h-dvh flex-col">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-paper px-3 py-2 shadow-lift focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-30 flex h-14 items-center gap-3 border-b border-line bg-paper/90 px-4 backdrop-blur sm:px-6">
        <Brand />
        <div className="ml-auto">
          <Button asChild variant="outline" size="sm">
            <Link to={`/login?next=${encodeURIComponent(next)}`}>
              <LogIn aria-hidden="true" />
              Log in
            </Link>
          </Button>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl flex-1 px-4 py-6 outline-none sm:px-6 sm:py-8">
        {children}
      </main>
    </div>
  );
}
