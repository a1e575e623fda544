import { ChevronRight, PlusCircle } from "lucide-react";
import * as React from "react";
import { Link } from "react-router";
import { Empty } from "@/components/app/Empty";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Mono } from "@/components/app/Mono";
import { PageHeader } from "@/components/app/PageHeader";
import { StatusBadge } from "@/components/app/StatusBadge";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { useMyRequests } from "@/hooks/queries";
import { formatRelative, shortId } from "@/lib/format";
import { STATUS } from "@/lib/status";

export function DashboardPage() {
  const requests = useMyRequests();
  React.useEffect(() => {
    document.title = "My requests · ZT-IX";
  }, []);
  const items = requests.data?.items ?? [];

  return (
    <>
      <PageHeader
        eyebrow="Peering"
        title="My requests"
        description="Every request of the ASNs you hold. This page refreshes by itself."
        actions={
          <Button asChild>
            <Link to="/onboarding">
              <PlusCircle aria-hidden="true" />
              New request
            </Link>
          </Button>
        }
      />
      {requests.isPending ? (
        <div className="grid gap-3">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-20 w-full" />
          ))}
        </div>
      ) : requests.isError ? (
        <ErrorPanel error={requests.error} onRetry={() => void requests.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No requests yet">
          <p>Ask to join the IX with one of your ASNs and your router's ZeroTier node ID.</p>
          <Button asChild className="mt-4">
            <Link to="/onboarding">Join the IX</Link>
          </Button>
        </Empty>
      ) : (
        <ul className="grid gap-3" aria-label="Requests">
          {items.map((r, i) => (
            <li key={r.id} className="stagger" style={{ "--i": i } as React.CSSProperties}>
              <Link
                to={`/requests/${r.id}`}
                className="group flex items-center gap-4 rounded-xl border border-line bg-paper p-4 shadow-soft transition-shadow hover:shadow-lift focus-visible:outline-2 focus-visible:outline-harbor"
              >
                <div className="grid min-w-0 flex-1 gap-1">
                  <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
                    <span className="font-semibold text-teal-deep">
                      <Mono>AS{r.asn}</Mono>
                    </span>
                    <span className="text-graphite">{r.network_name}</span>
                    <StatusBadge status={r.status} />
                  </div>
                  <div className="flex flex-wrap gap-x-4 gap-y-0.5 text-sm text-slate">
                    <span>
                      node <Mono className="text-graphite">{r.node_id}</Mono>
                    </span>
                    {r.membership?.ipv4 ? (
                      <span>
                        <Mono className="text-graphite">{r.membership.ipv4}</Mono>
                      </span>
                    ) : null}
                    <span>
                      request <Mono>{shortId(r.id)}</Mono> · {formatRelative(r.created_at)}
                    </span>
                  </div>
                  <p className="text-sm text-slate">{STATUS[r.status].member}</p>
                </div>
                <ChevronRight
                  className="size-5 shrink-0 text-slate transition-transform group-hover:translate-x-0.5"
                  aria-hidden="true"
                />
              </Link>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
