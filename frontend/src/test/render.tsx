import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type * as React from "react";
import { MemoryRouter, Route, Routes } from "react-router";
import { makeQueryClient } from "@/api/queryClient";
import { Toaster } from "@/components/ui/sonner";

/** Render `ui` at `path` inside the app's providers; other paths show their name. */
export function renderAt(ui: React.ReactNode, { path = "/", route = "/" } = {}) {
  const client = makeQueryClient();
  const result = render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[route]}>
        <Routes>
          <Route path={path} element={ui} />
          <Route path="*" element={<LocationShown />} />
        </Routes>
      </MemoryRouter>
      <Toaster />
    </QueryClientProvider>,
  );
  return { client, ...result };
}

import { useLocation } from "react-router";

function LocationShown() {
  const location = useLocation();
  return <div data-testid="location">{location.pathname + location.search}</div>;
}

type Handler = (url: URL, init: RequestInit) => Response | Promise<Response>;

/** Replace fetch with a router of handlers keyed by "METHOD /path"; records every call. */
export function mockApi(handlers: Record<string, Handler>) {
  const calls: Array<{ method: string; path: string; init: RequestInit; search: string }> = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), "http://localhost");
    const method = (init.method ?? "GET").toUpperCase();
    const path = url.pathname.replace(/^\/api\/v1/, "");
    calls.push({ method, path, init, search: url.search });
    const handler = handlers[`${method} ${path}`];
    if (!handler) throw new Error(`unexpected ${method} ${path}`);
    return handler(url, init);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}
