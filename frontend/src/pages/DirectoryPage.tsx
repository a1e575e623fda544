import * as React from "react";
import { Navigate } from "react-router";
import { isApiError } from "@/api/client";
import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { PageHeader } from "@/components/app/PageHeader";
import { VisitorShell } from "@/components/app/VisitorShell";
import { Badge } from "@/components/ui/badge";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { type DirectoryMember, useDirectory } from "@/hooks/memberTools";
import { formatDateTime } from "@/lib/format";
import { Loading } from "@/routes/RequireMember";

type Session = DirectoryMember["connections"][number]["sessions"][number];

function SessionBadge({ session }: { session: Session }) {
  const tone = session.state === "up" ? "ok" : session.state === "unknown" ? "neutral" : "danger";
  return (
    <Badge tone={tone} title={session.info}>
      {session.server} {session.family === "ipv6" ? "v6" : "v4"}: {session.state === "up" ? "up" : session.state}
    </Badge>
  );
}

/** Who is connected to the IX: the same members as the IX-F export, with session state.
 *  `visitor`: shown to a visitor without a session (`directory.public`). */
export function DirectoryPage({ visitor = false }: { visitor?: boolean }) {
  const directory = useDirectory({ visitor });
  React.useEffect(() => {
    document.title = "Member directory · ZT-IX";
  }, []);
  const members = directory.data?.members ?? [];

  return (
    <>
      <PageHeader
        eyebrow="The IX"
        title="Member directory"
        description={
          <>
            Every network connected to {directory.data?.ix_name ?? "the IX"}, with its peering addresses and its BGP
            sessions on the route servers. The same members as the public IX-F export (
            <a className="text-harbor underline" href="/participants.json">
              participants.json
            </a>
            ).
          </>
        }
      />
      {directory.isPending ? (
        <Skeleton className="h-48 w-full" />
      ) : directory.isError ? (
        <ErrorPanel error={directory.error} onRetry={() => void directory.refetch()} />
      ) : members.length === 0 ? (
        <Empty title="No members are connected yet" />
      ) : (
        <Table aria-label="Members">
          <TableHeader>
            <TableRow>
              <TableHead>Member</TableHead>
              <TableHead>IX network</TableHead>
              <TableHead>Peering addresses</TableHead>
              <TableHead>Route-server sessions</TableHead>
              <TableHead>Member since</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {members.flatMap((m) =>
              m.connections.map((c, i) => (
                <TableRow key={`${m.asn}-${c.zt_network_id}-${c.ipv4 ?? c.ipv6}`} data-asn={m.asn}>
                  <TableCell>
                    {i === 0 ? (
                      <>
                        <div className="font-medium text-teal-deep">{m.name ?? `AS${m.asn}`}</div>
                        <div className="font-mono text-xs text-slate">AS{m.asn}</div>
                      </>
                    ) : null}
                  </TableCell>
                  <TableCell>{c.network_name}</TableCell>
                  <TableCell className="font-mono text-[0.8125rem]">
                    <div>{c.ipv4 ?? "—"}</div>
                    <div>{c.ipv6 ?? "—"}</div>
                  </TableCell>
                  <TableCell>
                    {c.sessions.length ? (
                      <div className="flex flex-wrap gap-1">
                        {c.sessions.map((s) => (
                          <SessionBadge key={`${s.server}-${s.family}`} session={s} />
                        ))}
                      </div>
                    ) : (
                      <span className="text-slate">{c.route_server ? "not read yet" : "no route server"}</span>
                    )}
                  </TableCell>
                  <TableCell>{i === 0 ? formatDateTime(m.member_since) : null}</TableCell>
                </TableRow>
              )),
            )}
          </TableBody>
        </Table>
      )}
    </>
  );
}

/** The directory for a visitor without a session: the page when the IX made it public
 *  (`directory.public`), the login page (and back here) when it did not. */
export function VisitorDirectoryPage() {
  const directory = useDirectory({ visitor: true });
  if (directory.isPending) return <Loading />;
  if (isApiError(directory.error) && directory.error.status === 401)
    return <Navigate to={`/login?next=${encodeURIComponent("/directory")}`} replace />;
  return (
    <VisitorShell next="/directory">
      <DirectoryPage visitor />
    </VisitorShell>
  );
}
