import { afterEach, describe, expect, it } from "vitest";
import { jsonResponse, problem } from "@/test/fixtures";
import { mockApi } from "@/test/render";
import { ApiError, api, requestPath, serializeQuery, setCsrfToken, unwrap } from "./client";

afterEach(() => {
  setCsrfToken(null);
  vi.unstubAllGlobals();
});

describe("the API client", () => {
  it("sends the CSRF token on writes only", async () => {
    setCsrfToken("tok-123");
    const { calls } = mockApi({
      "GET /me": () => jsonResponse({}),
      "POST /requests/x/cancel": () => jsonResponse({}),
      "PUT /admin/requests/x/max-prefix": () => jsonResponse({}),
    });
    await unwrap(api.GET("/api/v1/me"));
    await unwrap(api.POST("/api/v1/requests/{request_id}/cancel", requestPath("x")));
    await unwrap(
      api.PUT("/api/v1/admin/requests/{request_id}/max-prefix", { ...requestPath("x"), body: { ipv4: 10 } }),
    );
    const header = (i: number) => calls[i]!.init.headers["x-csrf-token"];
    expect(header(0)).toBeUndefined();
    expect(header(1)).toBe("tok-123");
    expect(header(2)).toBe("tok-123");
    expect(calls[0]!.init.credentials).toBe("same-origin");
  });

  it("turns a problem into an ApiError with its code and extensions", async () => {
    mockApi({ "POST /requests": () => problem("duplicate_open_request", 409, { existing_request_id: "abc" }) });
    const body = { asn: 64500, zt_network_id: "8056c2e21c000001", node_id: "1a2b3c4d5e", notes: "" };
    const error = await unwrap(api.POST("/api/v1/requests", { body })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("duplicate_open_request");
    expect((error as ApiError).status).toBe(409);
    expect((error as ApiError).problem.existing_request_id).toBe("abc");
  });

  it("names a code for answers that are not problems", async () => {
    mockApi({ "GET /me": () => new Response("<html>", { status: 502 }) });
    const error = (await unwrap(api.GET("/api/v1/me")).catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("internal_error");
  });

  it("reports an unreachable server as network_error", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))),
    );
    const error = (await unwrap(api.GET("/api/v1/me")).catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe("network_error");
  });

  it("repeats list parameters and drops empty ones", () => {
    expect(serializeQuery({ status: ["pending", "failed"], asn: undefined, sort: "asn", q: "" })).toBe(
      "status=pending&status=failed&sort=asn",
    );
  });

  it("sends the list parameters of a call that way", async () => {
    const { calls } = mockApi({ "GET /admin/requests": () => jsonResponse({ items: [], total: 0 }) });
    await unwrap(
      api.GET("/api/v1/admin/requests", { params: { query: { status: ["pending", "failed"], sort: "asn" } } }),
    );
    expect(calls[0]!.search).toBe("?status=pending&status=failed&sort=asn");
  });
});
