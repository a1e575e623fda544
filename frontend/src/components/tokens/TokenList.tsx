import { ConfirmAction } from "@/components/app/ConfirmDialog";
import { Empty } from "@/components/app/Empty";
import { Badge } from "@/components/ui/badge";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { type ApiToken, useAdminRevokeToken, useRevokeToken } from "@/hooks/tokens";
import { formatDateTime, formatRelative } from "@/lib/format";

function state(token: ApiToken): { label: string; tone: "ok" | "danger" | "neutral" } {
  if (token.revoked_at) return { label: "revoked", tone: "neutral" };
  if (new Date(token.expires_at).getTime() <= Date.now()) return { label: "expired", tone: "danger" };
  return { label: "live", tone: "ok" };
}

/** Tokens: name, prefix, what it may do, last use, expiry; revoke a live one. The user's
 *  own, or with `admin` every user's (with its owner; revoked through the admin API). */
export function TokenList({
  tokens,
  admin = false,
}: {
  tokens: Array<ApiToken & { owner?: string }>;
  admin?: boolean;
}) {
  const own = useRevokeToken();
  const anyone = useAdminRevokeToken();
  const revoke = admin ? anyone : own;
  if (tokens.length === 0)
    return admin ? (
      <Empty title="No live tokens">
        <p>No user has a token that still works.</p>
      </Empty>
    ) : (
      <Empty title="No tokens yet">
        <p>Create one above for a provisioning system or a script.</p>
      </Empty>
    );
  return (
    <Table aria-label={admin ? "Live API tokens of every user" : "Your API tokens"}>
      <TableHeader>
        <TableRow>
          {admin ? <TableHead>Owner</TableHead> : null}
          <TableHead>Name</TableHead>
          <TableHead>Token</TableHead>
          <TableHead>Acts for</TableHead>
          <TableHead>Scope</TableHead>
          <TableHead>Last used</TableHead>
          <TableHead>Expires</TableHead>
          <TableHead>
            <span className="sr-only">Actions</span>
          </TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {tokens.map((t) => {
          const s = state(t);
          return (
            <TableRow key={t.id}>
              {admin ? <TableCell>{t.owner}</TableCell> : null}
              <TableCell className="font-medium text-teal-deep">
                {t.name} <Badge tone={s.tone}>{s.label}</Badge>
              </TableCell>
              <TableCell className="font-mono">{t.prefix}…</TableCell>
              <TableCell>{t.kind === "admin" ? "IX admin" : t.asns.map((a) => `AS${a}`).join(", ")}</TableCell>
              <TableCell>{t.scopes.join(" + ")}</TableCell>
              <TableCell title={formatDateTime(t.last_used_at)}>
                {t.last_used_at ? formatRelative(t.last_used_at) : "never"}
              </TableCell>
              <TableCell>{formatDateTime(t.expires_at)}</TableCell>
              <TableCell className="text-right">
                {s.label === "live" ? (
                  <ConfirmAction
                    trigger={
                      <>
                        Revoke<span className="sr-only"> {t.name}</span>
                      </>
                    }
                    triggerVariant="outline"
                    variant="destructive"
                    title={admin ? `Revoke ${t.owner}’s token “${t.name}”?` : `Revoke the token “${t.name}”?`}
                    description={
                      admin
                        ? "Calls with it are refused from now on; its owner sees it as revoked. This cannot be undone."
                        : "Calls with it are refused from now on. This cannot be undone."
                    }
                    confirmLabel="Revoke"
                    pending={revoke.isPending}
                    onConfirm={() => revoke.mutate(t.id)}
                  />
                ) : null}
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}
