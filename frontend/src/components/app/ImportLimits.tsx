import { useMutation, useQueryClient } from "@tanstack/react-query";
import * as React from "react";
import { toast } from "sonner";
import { api, requestPath, unwrap } from "@/api/client";
import type { JoinRequest } from "@/api/types";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { keys, useRequestRouteServers } from "@/hooks/queries";

export function parseLimit(text: string): number | null | "bad" {
  const t = text.trim();
  if (!t) return null;
  if (!/^\d+$/.test(t)) return "bad";
  const n = Number(t);
  return n >= 1 && n <= 10_000_000 ? n : "bad";
}

export function LimitInput(props: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  invalid: boolean;
}) {
  return (
    <div className="grid w-32 gap-1.5">
      <Label htmlFor={props.id}>{props.label}</Label>
      <Input
        id={props.id}
        inputMode="numeric"
        className="font-mono"
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-invalid={props.invalid}
      />
    </div>
  );
}

/** The route servers' import limits for this member, and the admin's override. */
export function ImportLimits({ request }: { request: JoinRequest }) {
  const servers = useRequestRouteServers(request.id, request.status);
  const client = useQueryClient();
  const [v4, setV4] = React.useState("");
  const [v6, setV6] = React.useState("");
  const [touched, setTouched] = React.useState(false);
  const save = useMutation({
    mutationFn: (body: { ipv4: number | null; ipv6: number | null }) =>
      unwrap(api.PUT("/api/v1/admin/requests/{request_id}/max-prefix", { ...requestPath(request.id), body })),
    onSuccess: (body) => {
      toast.success(
        body.ipv4 || body.ipv6 ? "Import limits overridden; the route servers are resynced" : "Overrides cleared",
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
        <CardTitle>Import limits</CardTitle>
        <CardDescription>
          Now {first?.max_prefix_ipv4 ?? "—"} IPv4 and {first?.max_prefix_ipv6 ?? "—"} IPv6 prefixes
          {first?.max_prefix_source ? ` (from ${first.max_prefix_source})` : ""}. Leave a field empty for no override.
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
          aria-label="Import limit override"
        >
          <LimitInput id="mp4" label="IPv4 limit" value={v4} onChange={setV4} invalid={touched && p4 === "bad"} />
          <LimitInput id="mp6" label="IPv6 limit" value={v6} onChange={setV6} invalid={touched && p6 === "bad"} />
          <Button type="submit" variant="outline" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Set override"}
          </Button>
          {touched && bad ? (
            <p className="w-full text-sm text-danger">A limit is a whole number from 1 to 10,000,000.</p>
          ) : null}
        </form>
      </CardContent>
    </Card>
  );
}
