/**
 * The one way the app talks to the JSON API: openapi-fetch over the generated `paths`
 * (src/api/schema.d.ts), same-origin with the session cookie, the CSRF token on every write,
 * and RFC 9457 problems turned into {@link ApiError}s by {@link unwrap}.
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

let csrfToken: string | null = null;

/** Remember the session's CSRF token (from GET /me or a login answer). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function getCsrfToken(): string | null {
  return csrfToken;
}

/** A failed API call. `code` is the problem's stable code (ztix.errors), or
 *  `network_error` when the server could not be reached at all. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly problem: Record<string, unknown>;

  constructor(status: number, code: string, detail: string, problem: Record<string, unknown> = {}) {
    super(`${code}: ${detail}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.problem = problem;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

/** The session is gone: the app should send the user to /login and back. */
export function isSessionLost(error: unknown): boolean {
  return isApiError(error) && (error.code === "not_authenticated" || error.code === "session_expired");
}

/** Query strings as the API reads them: a list repeats its key; empty values are left out. */
export function serializeQuery(query: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
    else params.append(key, String(value));
  }
  return params.toString();
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (WRITE_METHODS.has(request.method) && csrfToken) request.headers.set("X-CSRF-Token", csrfToken);
    return request;
  },
};

/** Typed calls by path: `api.GET("/api/v1/me")`. Wrap each in {@link unwrap}. */
export const api = createClient<paths>({
  baseUrl: window.location.origin,
  credentials: "same-origin",
  headers: { Accept: "application/json" },
  querySerializer: serializeQuery,
  // Looked up at every call, not once, so tests can stand in for the server.
  fetch: (request) => globalThis.fetch(request),
});
api.use(csrf);

/** What an openapi-fetch call settles to: the typed data, or the error body. */
type Settled<D> = { data?: D; error?: unknown; response: Response };

/** The data of a successful call; an {@link ApiError} for a problem or an unreachable server. */
export async function unwrap<D>(call: Promise<Settled<D>>): Promise<D> {
  let settled: Settled<D>;
  try {
    settled = await call;
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The server could not be reached");
  }
  const { response } = settled;
  if (!response.ok) {
    const body = settled.error;
    const problem = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
    const code = typeof problem.code === "string" ? problem.code : fallbackCode(response.status);
    const detail = typeof problem.detail === "string" ? problem.detail : response.statusText;
    throw new ApiError(response.status, code, detail, problem);
  }
  return settled.data as D;
}

function fallbackCode(status: number): string {
  if (status === 401) return "not_authenticated";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status >= 500) return "internal_error";
  return "validation_failed";
}

/** The path parameter of every call on one join request. */
export function requestPath(id: string) {
  return { params: { path: { request_id: id } } };
}
