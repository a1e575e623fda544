/**
 * The one way the app talks to the JSON API: same-origin fetch with the session cookie,
 * the CSRF token on every write, and RFC 9457 problems turned into {@link ApiError}s.
 */

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

type Query = Record<string, string | number | boolean | readonly (string | number)[] | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT";
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
}

export async function apiFetch<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (WRITE_METHODS.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(withQuery(`/api/v1${path}`, options.query), {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The server could not be reached");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) {
    const problem = (data && typeof data === "object" ? data : {}) as Record<string, unknown>;
    const code = typeof problem.code === "string" ? problem.code : fallbackCode(response.status);
    const detail = typeof problem.detail === "string" ? problem.detail : response.statusText;
    throw new ApiError(response.status, code, detail, problem);
  }
  return data as T;
}

function fallbackCode(status: number): string {
  if (status === 401) return "not_authenticated";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status >= 500) return "internal_error";
  return "validation_failed";
}
