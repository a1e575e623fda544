/** Data hooks of the Tokens page: the user's API tokens, creating and revoking one. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/api/client";
import type { components } from "@/api/schema";

export type ApiToken = components["schemas"]["ApiTokenOut"];
export type ApiTokenCreate = components["schemas"]["ApiTokenCreate"];
export type ApiTokenCreated = components["schemas"]["ApiTokenCreated"];

export const tokenKeys = { all: ["tokens"] as const };

export function useTokens() {
  return useQuery({
    queryKey: tokenKeys.all,
    queryFn: () => unwrap(api.GET("/api/v1/tokens")),
  });
}

export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ApiTokenCreate) => unwrap(api.POST("/api/v1/tokens", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: tokenKeys.all }),
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => unwrap(api.DELETE("/api/v1/tokens/{token_id}", { params: { path: { token_id: id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: tokenKeys.all }),
  });
}
