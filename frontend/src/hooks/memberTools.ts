/** Data hooks of the Directory and Notifications pages. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/api/client";
import type { components } from "@/api/schema";

export type Directory = components["schemas"]["DirectoryOut"];
export type DirectoryMember = components["schemas"]["DirectoryMemberOut"];
export type NotificationSettings = components["schemas"]["NotificationSettings"];
export type Webhook = components["schemas"]["WebhookOut"];
export type WebhookCreated = components["schemas"]["WebhookCreated"];
export type Delivery = components["schemas"]["DeliveryOut"];

export const memberToolKeys = {
  directory: ["directory"] as const,
  notificationSettings: ["notifications", "settings"] as const,
  webhooks: ["webhooks"] as const,
  deliveries: ["notifications", "deliveries"] as const,
};

/** The member directory. `visitor`: asked without a session (the directory may be public),
 *  so a 401 answers "log in first" rather than "the session was lost". */
export function useDirectory({ visitor = false }: { visitor?: boolean } = {}) {
  return useQuery({
    queryKey: memberToolKeys.directory,
    queryFn: () => unwrap(api.GET("/api/v1/directory")),
    refetchInterval: 60_000,
    meta: { visitor },
  });
}

export function useNotificationSettings() {
  return useQuery({
    queryKey: memberToolKeys.notificationSettings,
    queryFn: () => unwrap(api.GET("/api/v1/notifications/settings")),
  });
}

export function useSetEmail() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (email: boolean) => unwrap(api.PUT("/api/v1/notifications/settings", { body: { email } })),
    onSuccess: (data) => client.setQueryData(memberToolKeys.notificationSettings, data),
  });
}

/** Where a local account's e-mail goes (a PeeringDB account's address is PeeringDB's). */
export function useSetEmailAddress() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (address: string) =>
      unwrap(api.PUT("/api/v1/notifications/settings", { body: { email_address: address } })),
    onSuccess: (data) => client.setQueryData(memberToolKeys.notificationSettings, data),
    meta: { quiet: true }, // the form shows the problem beside the field
  });
}

export function useWebhooks() {
  return useQuery({ queryKey: memberToolKeys.webhooks, queryFn: () => unwrap(api.GET("/api/v1/webhooks")) });
}

export function useCreateWebhook() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (url: string) => unwrap(api.POST("/api/v1/webhooks", { body: { url } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: memberToolKeys.webhooks }),
  });
}

export function useDeleteWebhook() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: number) =>
      unwrap(api.DELETE("/api/v1/webhooks/{webhook_id}", { params: { path: { webhook_id: id } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: memberToolKeys.webhooks }),
  });
}

export function useDeliveries() {
  return useQuery({
    queryKey: memberToolKeys.deliveries,
    queryFn: () => unwrap(api.GET("/api/v1/notifications/deliveries", { params: { query: { limit: 50 } } })),
    refetchInterval: 15_000,
  });
}
