import { useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { api, unwrap } from "@/api/client";
import type { RouteServer } from "@/api/types";
import { ConfirmAction } from "@/components/app/ConfirmDialog";
import { Mono } from "@/components/app/Mono";
import { keys } from "@/hooks/queries";

/** Drain a route server for maintenance (GRACEFUL_SHUTDOWN on every export), or undrain it. */
export function DrainControl({ rs }: { rs: RouteServer }) {
  const client = useQueryClient();
  const change = useMutation({
    mutationFn: (drain: boolean) =>
      unwrap(
        drain
          ? api.POST("/api/v1/admin/route-servers/{name}/drain", { params: { path: { name: rs.name } } })
          : api.POST("/api/v1/admin/route-servers/{name}/undrain", { params: { path: { name: rs.name } } }),
      ),
    onSuccess: (out) => {
      toast.success(
        out.drained
          ? `${rs.name} is drained; the change is being applied`
          : `${rs.name} is back in service; the change is being applied`,
      );
      void client.invalidateQueries({ queryKey: keys.routeServers });
    },
  });
  if (!rs.enabled) return null;
  return rs.drained ? (
    <ConfirmAction
      trigger="Undrain"
      triggerVariant="outline"
      title={`Undrain ${rs.name}?`}
      description="Its routes lose the GRACEFUL_SHUTDOWN community, so members use this route server normally again."
      confirmLabel="Undrain"
      pending={change.isPending}
      onConfirm={() => change.mutate(false)}
    />
  ) : (
    <ConfirmAction
      trigger="Drain"
      triggerVariant="outline"
      title={`Drain ${rs.name} for maintenance?`}
      description={
        <>
          Every route {rs.name} sends gets <Mono>65535:0</Mono> (GRACEFUL_SHUTDOWN, RFC 8326), so members prefer the
          other route server of the pair. Applied with a normal sync. Only one server of a network can be drained at a
          time.
        </>
      }
      confirmLabel="Drain"
      pending={change.isPending}
      onConfirm={() => change.mutate(true)}
    />
  );
}
