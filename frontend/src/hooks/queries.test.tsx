import { QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import type * as React from "react";
import { afterEach, describe, expect, it } from "vitest";
import { makeQueryClient } from "@/api/queryClient";
import { jsonResponse, REQUEST } from "@/test/fixtures";
import { mockApi } from "@/test/render";
import { useRequest } from "./queries";

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

function wrapper({ children }: { children: React.ReactNode }) {
  return <QueryClientProvider client={makeQueryClient()}>{children}</QueryClientProvider>;
}

describe("polling a request", () => {
  it("polls while it moves, slows when unchanged, and stops on a terminal state", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let status = "pending";
    let updated = 0;
    const { calls } = mockApi({
      [`GET /requests/${REQUEST.id}`]: () =>
        jsonResponse({ ...REQUEST, status, updated_at: `2026-11-20T10:0${updated}:00Z` }),
    });
    const gets = () => calls.filter((c) => c.path === `/requests/${REQUEST.id}`).length;
    const { result } = renderHook(() => useRequest(REQUEST.id), { wrapper });
    await waitFor(() => expect(result.current.data?.status).toBe("pending"));
    expect(gets()).toBe(1);

    await act(async () => vi.advanceTimersByTimeAsync(2000)); // base delay
    expect(gets()).toBe(2);
    await act(async () => vi.advanceTimersByTimeAsync(2000)); // unchanged: now 3.2 s
    expect(gets()).toBe(2);
    await act(async () => vi.advanceTimersByTimeAsync(1300));
    expect(gets()).toBe(3);

    status = "rejected";
    updated = 1;
    await act(async () => vi.advanceTimersByTimeAsync(5200));
    await waitFor(() => expect(result.current.data?.status).toBe("rejected"));
    const stopped = gets();
    await act(async () => vi.advanceTimersByTimeAsync(120_000));
    expect(gets()).toBe(stopped);
  });
});
