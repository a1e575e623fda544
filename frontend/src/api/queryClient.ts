import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { isApiError, isSessionLost } from "@/api/client";
import { describeError } from "@/lib/errors";
import { sessionLost } from "@/lib/session";

declare module "@tanstack/react-query" {
  interface Register {
    mutationMeta: { quiet?: boolean };
    /** visitor: a query made without a session; its 401 is no lost session. */
    queryMeta: { quiet?: boolean; visitor?: boolean };
  }
}

/** Show a problem as a toast: its code's sentence, and what to do next. */
export function toastError(error: unknown, title?: string): void {
  const text = describeError(error);
  toast.error(title ?? text.message, { description: title ? text.message : text.hint });
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        if (isSessionLost(error) && query.queryKey[0] !== "me" && !query.meta?.visitor) sessionLost();
      },
    }),
    mutationCache: new MutationCache({
      onError: (error, _vars, _ctx, mutation) => {
        if (isSessionLost(error)) {
          sessionLost();
          return;
        }
        if (!mutation.meta?.quiet) toastError(error);
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 1000,
        refetchOnWindowFocus: true,
        refetchIntervalInBackground: false,
        retry: (count, error) => {
          // 4xx answers will not change by asking again; outages might.
          if (isApiError(error) && error.status >= 400 && error.status < 500) return false;
          return count < 2;
        },
      },
      mutations: { retry: false },
    },
  });
}
