import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type * as React from "react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
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

function LocationShown() {
  const location = useLocation();
  return <div data-testid="location">{location.pathname + location.search}</div>;
}

/** What the app sent, as a plain record: headers (names in lower case), credentials, body text. */
export interface SentInit {
  method: string;
  headers: Record<string, string>;
  credentials: RequestCredentials;
  body?: string;
}

type Handler = (url: URL, init: SentInit) => Response | Promise<Response>;

/** Replace fetch with a router of handlers keyed by "METHOD /path"; records every call. */
export function mockApi(handlers: Record<string, Handler>) {
  const calls: Array<{ method: string; path: string; init: SentInit; search: string }> = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, options?: RequestInit) => {
    const request = new Request(input instanceof Request ? input : new URL(String(input), "http://localhost"), options);
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/api\/v1/, "");
    const text = await request.text();
    const init: SentInit = {
      method: request.method,
      headers: Object.fromEntries(request.headers),
      credentials: request.credentials,
      body: text === "" ? undefined : text,
    };
    calls.push({ method: request.method, path, init, search: url.search });
    const handler = handlers[`${request.method} ${path}`];
    if (!handler) throw new Error(`unexpected ${request.method} ${path}`);
    return handler(url, init);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}
