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

const SAFE = /^[A-Za-z0-9!#%*+,\-./:=@^_~]{8,80}$/;

/** The member's BGP session password (TCP MD5): set, replace or remove; never shown back. */
export function BgpPasswordCard({ request }: { request: JoinRequest }) {
  const servers = useRequestRouteServers(request.id, request.status);
  const client = useQueryClient();
  const [value, setValue] = React.useState("");
  const [touched, setTouched] = React.useState(false);
  const inputId = React.useId();
  const save = useMutation({
    mutationFn: (password: string | null) =>
      unwrap(api.PUT("/api/v1/requests/{request_id}/bgp-password", { ...requestPath(request.id), body: { password } })),
    onSuccess: (out) => {
      setValue("");
      setTouched(false);
      toast.success(
        out.bgp_password_set
          ? "Session password set; the route servers are being updated. Set the same password on your router."
          : "Session password removed; the route servers are being updated.",
      );
      void client.invalidateQueries({ queryKey: keys.requestRouteServers(request.id) });
    },
  });
  if (!servers.data || servers.data.length === 0) return null;
  const isSet = servers.data.some((rs) => rs.bgp_password_set);
  const bad = !SAFE.test(value);

  return (
    <Card>
      <CardHeader>
        <CardTitle>Session password</CardTitle>
        <CardDescription>
          {isSet
            ? "Your BGP sessions use a TCP MD5 password. It is stored encrypted and never shown again."
            : "Optional: protect your BGP sessions with a TCP MD5 password. Your router must use the same one."}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex flex-wrap items-end gap-3"
          aria-label="BGP session password"
          onSubmit={(e) => {
            e.preventDefault();
            setTouched(true);
            if (!bad) save.mutate(value);
          }}
        >
          <div className="grid gap-1.5">
            <Label htmlFor={inputId}>{isSet ? "New password" : "Password"}</Label>
            <Input
              id={inputId}
              type="password"
              autoComplete="new-password"
              value={value}
              onChange={(e) => setValue(e.target.value)}
              aria-invalid={touched && bad}
              className="w-72"
            />
          </div>
          <Button type="submit" variant="outline" disabled={save.isPending}>
            {isSet ? "Replace password" : "Set password"}
          </Button>
          {isSet ? (
            <Button type="button" variant="ghost" disabled={save.isPending} onClick={() => save.mutate(null)}>
              Remove password
            </Button>
          ) : null}
          {touched && bad ? (
            <p className="w-full text-sm text-danger">
              Use 8 to 80 characters: letters, digits and ! # % * + , - . / : = @ ^ _ ~ (no spaces or quotes).
            </p>
          ) : null}
        </form>
      </CardContent>
    </Card>
  );
}
