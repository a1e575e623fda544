import { useMutation, useQueryClient } from "@tanstack/react-query";
import * as React from "react";
import { toast } from "sonner";
import { api, requestPath, unwrap } from "@/api/client";
import type { JoinRequest } from "@/api/types";
import { LimitInput, parseLimit } from "@/components/app/ImportLimits";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { keys, useRequestRouteServers } from "@/hooks/queries";

/** The route servers' receive limits (routes received before filtering) and the admin's override. */
export function ReceiveLimits({ request }: { request: JoinRequest }) {
  const servers = useRequestRouteServers(request.id, request.status);
  const client = useQueryClient();
  const [v4, setV4] = React.useState("");
  const [v6, setV6] = React.useState("");
  const [touched, setTouched] = React.useState(false);
  const save = useMutation({
    mutationFn: (body: { ipv4: number | null; ipv6: number | null }) =>
      unwrap(api.PUT("/api/v1/admin/requests/{request_id}/receive-limit", { ...requestPath(request.id), body })),
    onSuccess: (body) => {
      toast.success(
        body.ipv4 || body.ipv6 ? "Receive limits overridden; the route servers are resynced" : "Overrides cleared",
      );
      void client.invalidateQueries({ queryKey: keys.requestRouteServers(request.id) });
    },
  });
  const first = servers.data?.[0];
  if (!servers.data || servers.data.length === 0) return null;
  const p4 = parseLimit(v4);
  const p6 = parseLimit(v6);
  const bad = p4 === "bad" || p6 === "bad";

  return (
    <Card>
      <CardHeader>
        <CardTitle>Receive limits</CardTitle>
        <CardDescription>
          Routes received before filtering: now {first?.receive_limit_ipv4 ?? "—"} IPv4 and{" "}
          {first?.receive_limit_ipv6 ?? "—"} IPv6. Never below the import limit. Leave a field empty for no override.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            setTouched(true);
            if (bad) return;
            save.mutate({ ipv4: p4 as number | null, ipv6: p6 as number | null });
          }}
          aria-label="Receive limit override"
        >
          <LimitInput
            id="rl4"
            label="IPv4 receive limit"
            value={v4}
            onChange={setV4}
            invalid={touched && p4 === "bad"}
          />
          <LimitInput
            id="rl6"
            label="IPv6 receive limit"
            value={v6}
            onChange={setV6}
            invalid={touched && p6 === "bad"}
          />
          <Button type="submit" variant="outline" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Set receive override"}
          </Button>
          {touched && bad ? (
            <p className="w-full text-sm text-danger">A limit is a whole number from 1 to 10,000,000.</p>
          ) : null}
        </form>
      </CardContent>
    </Card>
  );
}
