import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { X } from "lucide-react";
import * as React from "react";
import { toast } from "sonner";
import { ApiError, api, unwrap } from "@/api/client";
import type { AdminUserRow } from "@/api/types";
import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Mono } from "@/components/app/Mono";
import { PageHeader } from "@/components/app/PageHeader";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { useMe } from "@/hooks/queries";
import { describeError } from "@/lib/errors";
import { formatDateTime, formatRelative } from "@/lib/format";

const USERS_KEY = ["admin", "users"] as const;

type Action = "disable" | "enable" | "make-admin" | "remove-admin" | "revoke";

async function run(user: AdminUserRow, action: Action): Promise<string> {
  const path = { params: { path: { user_id: user.id } } };
  switch (action) {
    case "disable":
      await unwrap(api.POST("/api/v1/admin/users/{user_id}/disable", path));
      return `${user.username} is disabled; their sessions ended.`;
    case "enable":
      await unwrap(api.POST("/api/v1/admin/users/{user_id}/enable", path));
      return `${user.username} can log in again.`;
    case "make-admin":
    case "remove-admin": {
      const role = action === "make-admin" ? "admin" : "operator";
      await unwrap(api.PUT("/api/v1/admin/users/{user_id}/role", { ...path, body: { role } }));
      return `${user.username} is now ${role === "admin" ? "an admin" : "an operator"}.`;
    }
    case "revoke": {
      const done = await unwrap(api.POST("/api/v1/admin/users/{user_id}/sessions/revoke", path));
      return `${done.revoked} session(s) of ${user.username} ended.`;
    }
  }
}

function UserActions({ user, self }: { user: AdminUserRow; self: boolean }) {
  const client = useQueryClient();
  const mutation = useMutation({
    mutationFn: (action: Action) => run(user, action),
    onSuccess: (message) => toast.success(message),
    onError: (error) => toast.error(error instanceof ApiError ? error.detail : "The change failed."),
    onSettled: () => void client.invalidateQueries({ queryKey: USERS_KEY }),
  });
  const busy = mutation.isPending;
  const label = (what: string) => `${what} ${user.username}`;
  return (
    <div className="flex flex-wrap gap-2">
      {user.is_active ? (
        <Button
          size="sm"
          variant="outline"
          disabled={busy || self}
          aria-label={label("Disable")}
          onClick={() => mutation.mutate("disable")}
        >
          Disable
        </Button>
      ) : (
        <Button
          size="sm"
          variant="outline"
          disabled={busy}
          aria-label={label("Enable")}
          onClick={() => mutation.mutate("enable")}
        >
          Enable
        </Button>
      )}
      {user.role === "admin" ? (
        <Button
          size="sm"
          variant="outline"
          disabled={busy || self}
          aria-label={label("Remove admin from")}
          onClick={() => mutation.mutate("remove-admin")}
        >
          Remove admin
        </Button>
      ) : (
        <Button
          size="sm"
          variant="outline"
          disabled={busy}
          aria-label={label("Make admin")}
          onClick={() => mutation.mutate("make-admin")}
        >
          Make admin
        </Button>
      )}
      <Button
        size="sm"
        variant="ghost"
        disabled={busy || user.live_sessions === 0}
        aria-label={label("End sessions of")}
        onClick={() => mutation.mutate("revoke")}
      >
        End sessions
      </Button>
    </div>
  );
}

/** "AS3320", "as3320" or "3320" as a number; null when it is not an ASN at all. */
export function parseAsn(text: string): number | null {
  const match = /^(?:as)?\s*(\d{1,10})$/i.exec(text.trim());
  if (!match) return null;
  const asn = Number(match[1]);
  return asn >= 1 && asn <= 4_294_967_294 ? asn : null;
}

type Grant = AdminUserRow["grants"][number];

/** A user's ASN grants: manual ones (source local) can be removed, and one can be added.
 *  A PeeringDB grant follows PeeringDB and stays. */
function Grants({ user }: { user: AdminUserRow }) {
  const client = useQueryClient();
  const [text, setText] = React.useState("");
  const [problem, setProblem] = React.useState<string | null>(null);
  const inputId = React.useId();
  const path = { params: { path: { user_id: user.id } } };
  const done = (message: string) => {
    setProblem(null);
    toast.success(message);
  };
  const failed = (error: unknown) => {
    const text = describeError(error);
    setProblem(text.hint ? `${text.message} ${text.hint}` : text.message);
  };
  const add = useMutation({
    mutationFn: (asn: number) => unwrap(api.POST("/api/v1/admin/users/{user_id}/grants", { ...path, body: { asn } })),
    meta: { quiet: true },
    onSuccess: (_data, asn) => {
      setText("");
      done(`${user.username} may now act for AS${asn}.`);
    },
    onError: failed,
    onSettled: () => void client.invalidateQueries({ queryKey: USERS_KEY }),
  });
  const remove = useMutation({
    mutationFn: (grant: Grant) =>
      unwrap(
        api.DELETE("/api/v1/admin/users/{user_id}/grants/{asn}", {
          params: { path: { user_id: user.id, asn: grant.asn } },
        }),
      ),
    meta: { quiet: true },
    onSuccess: (_data, grant) => done(`${user.username} no longer acts for AS${grant.asn}.`),
    onError: failed,
    onSettled: () => void client.invalidateQueries({ queryKey: USERS_KEY }),
  });
  const busy = add.isPending || remove.isPending;
  return (
    <div className="grid min-w-48 gap-2">
      {user.grants.length ? (
        <ul className="grid gap-1">
          {user.grants.map((g) => (
            <li key={g.asn} className="flex items-center gap-1" title={`granted ${formatDateTime(g.granted_at)}`}>
              <Mono>AS{g.asn}</Mono> <span className="text-xs text-slate">({g.source})</span>
              {g.source === "local" ? (
                <Button
                  size="sm"
                  variant="ghost"
                  className="h-6 px-1.5"
                  disabled={busy}
                  aria-label={`Remove AS${g.asn} from ${user.username}`}
                  onClick={() => remove.mutate(g)}
                >
                  <X aria-hidden="true" className="size-3.5" />
                </Button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : (
        <span className="text-slate">none</span>
      )}
      <form
        className="flex gap-1"
        onSubmit={(event) => {
          event.preventDefault();
          const asn = parseAsn(text);
          if (asn === null) {
            setProblem("Write an ASN as a number, e.g. AS3320.");
            return;
          }
          add.mutate(asn);
        }}
      >
        <label htmlFor={inputId} className="sr-only">
          Add an ASN for {user.username}
        </label>
        <Input
          id={inputId}
          className="h-8 w-28 font-mono"
          placeholder="AS…"
          value={text}
          aria-invalid={problem !== null}
          aria-describedby={problem ? `${inputId}-error` : undefined}
          onChange={(e) => setText(e.target.value)}
        />
        <Button size="sm" variant="outline" type="submit" disabled={busy} aria-label={`Add ASN to ${user.username}`}>
          Add
        </Button>
      </form>
      {problem ? (
        <p id={`${inputId}-error`} role="alert" className="max-w-60 text-xs text-danger">
          {problem}
        </p>
      ) : null}
    </div>
  );
}

export function AdminUsersPage() {
  const me = useMe();
  const users = useQuery({
    queryKey: USERS_KEY,
    queryFn: () => unwrap(api.GET("/api/v1/admin/users")),
  });
  return (
    <>
      <PageHeader
        title="Users"
        description="Accounts, how they log in, the ASNs they may act for and their sessions. Every change is audited."
      />
      {users.isError ? <ErrorPanel error={users.error} onRetry={() => void users.refetch()} /> : null}
      <Card>
        <CardContent className="overflow-x-auto p-0" aria-busy={users.isPending}>
          {users.isPending ? (
            <div className="grid gap-2 p-4">
              <Skeleton className="h-8" />
              <Skeleton className="h-8" />
            </div>
          ) : users.data && users.data.length > 0 ? (
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>User</TableHead>
                  <TableHead>Role</TableHead>
                  <TableHead>Login</TableHead>
                  <TableHead>Last login</TableHead>
                  <TableHead>ASN grants</TableHead>
                  <TableHead>Sessions</TableHead>
                  <TableHead>Actions</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {users.data.map((user) => (
                  <TableRow key={user.id}>
                    <TableCell>
                      <div className="font-medium">{user.username}</div>
                      <div className="text-xs text-slate">{user.display_name}</div>
                      {user.is_active ? null : <Badge tone="danger">Disabled</Badge>}
                    </TableCell>
                    <TableCell>
                      <Badge tone={user.role === "admin" ? "blue" : "neutral"}>{user.role}</Badge>
                    </TableCell>
                    <TableCell>{user.source === "peeringdb" ? "PeeringDB" : "Local"}</TableCell>
                    <TableCell>
                      {user.last_login_at ? (
                        <time dateTime={user.last_login_at} title={formatDateTime(user.last_login_at)}>
                          {formatRelative(user.last_login_at)}
                        </time>
                      ) : (
                        "never"
                      )}
                    </TableCell>
                    <TableCell>
                      <Grants user={user} />
                    </TableCell>
                    <TableCell>{user.live_sessions}</TableCell>
                    <TableCell>
                      <UserActions user={user} self={me.data?.username === user.username} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          ) : (
            <Empty title="No users yet" />
          )}
        </CardContent>
      </Card>
    </>
  );
}
