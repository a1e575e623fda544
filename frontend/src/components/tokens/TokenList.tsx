import { ConfirmAction } from "@/components/app/ConfirmDialog";
import { Empty } from "@/components/app/Empty";
import { Badge } from "@/components/ui/badge";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { type ApiToken, useRevokeToken } from "@/hooks/tokens";
import { formatDateTime, formatRelative } from "@/lib/format";

function state(token: ApiToken): { label: string; tone: "ok" | "danger" | "neutral" } {
  if (token.revoked_at) return { label: "revoked", tone: "neutral" };
  if (new Date(token.expires_at).getTime() <= Date.now()) return { label: "expired", tone: "danger" };
  return { label: "live", tone: "ok" };
}

/** The user's tokens: name, prefix, what it may do, last use, expiry; revoke a live one. */
export function TokenList({ tokens }: { tokens: ApiToken[] }) {
  const revoke = useRevokeToken();
  if (tokens.length === 0)
    return (
      <Empty title="No tokens yet">
        <p>Create one above for a provisioning system or a script.</p>
      </Empty>
    );
  return (
    <Table aria-label="Your API tokens">
      <TableHeader>
        <TableRow>
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
                    title={`Revoke the token “${t.name}”?`}
                    description="Calls with it are refused from now on. This cannot be undone."
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
