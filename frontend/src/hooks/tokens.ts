/** Data hooks of the Tokens pages: the user's API tokens, creating and revoking one; for an
 *  admin, every user's live tokens and revoking any of them. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/api/client";
import type { components } from "@/api/schema";

export type ApiToken = components["schemas"]["ApiTokenOut"];
export type ApiTokenCreate = components["schemas"]["ApiTokenCreate"];
export type ApiTokenCreated = components["schemas"]["ApiTokenCreated"];
export type ApiTokenAdmin = components["schemas"]["ApiTokenAdminOut"];

export const tokenKeys = { all: ["tokens"] as const, admin: ["admin", "tokens"] as const };

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
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: tokenKeys.all });
      void client.invalidateQueries({ queryKey: tokenKeys.admin });
    },
  });
}

export function useAdminTokens() {
  return useQuery({
    queryKey: tokenKeys.admin,
    queryFn: () => unwrap(api.GET("/api/v1/admin/tokens")),
  });
}

export function useAdminRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/v1/admin/tokens/{token_id}", { params: { path: { token_id: id } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: tokenKeys.admin });
      void client.invalidateQueries({ queryKey: tokenKeys.all });
    },
  });
}
