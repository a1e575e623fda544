import { afterEach, describe, expect, it } from "vitest";
import { jsonResponse, problem } from "@/test/fixtures";
import { mockApi } from "@/test/render";
import { ApiError, apiFetch, setCsrfToken, withQuery } from "./client";

afterEach(() => {
  setCsrfToken(null);
  vi.unstubAllGlobals();
});

describe("apiFetch", () => {
  it("sends the CSRF token on writes only", async () => {
    setCsrfToken("tok-123");
    const { calls } = mockApi({
      "GET /me": () => jsonResponse({}),
      "POST /requests/x/cancel": () => jsonResponse({}),
      "PUT /admin/requests/x/max-prefix": () => jsonResponse({}),
    });
    await apiFetch("/me");
    await apiFetch("/requests/x/cancel", { method: "POST" });
    await apiFetch("/admin/requests/x/max-prefix", { method: "PUT", body: { ipv4: 10 } });
    const header = (i: number) => (calls[i]!.init.headers as Record<string, string>)["X-CSRF-Token"];
    expect(header(0)).toBeUndefined();
    expect(header(1)).toBe("tok-123");
    expect(header(2)).toBe("tok-123");
    expect(calls[0]!.init.credentials).toBe("same-origin");
  });

  it("turns a problem into an ApiError with its code and extensions", async () => {
    mockApi({ "POST /requests": () => problem("duplicate_open_request", 409, { existing_request_id: "abc" }) });
    const error = await apiFetch("/requests", { method: "POST", body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("duplicate_open_request");
    expect((error as ApiError).status).toBe(409);
    expect((error as ApiError).problem.existing_request_id).toBe("abc");
  });

  it("names a code for answers that are not problems", async () => {
    mockApi({ "GET /x": () => new Response("<html>", { status: 502 }) });
    const error = (await apiFetch("/x").catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("internal_error");
  });

  it("reports an unreachable server as network_error", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const error = (await apiFetch("/me").catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("network_error");
  });

  it("repeats list parameters and drops empty ones", () => {
    expect(withQuery("/a", { status: ["pending", "failed"], asn: undefined, sort: "asn", q: "" })).toBe(
      "/a?status=pending&status=failed&sort=asn",
    );
  });
});
