import type { UseQueryResult } from "@tanstack/react-query";
import { DoorOpen, Undo2 } from "lucide-react";
import * as React from "react";
import { Link, useParams } from "react-router";
import { api, isApiError, requestPath, unwrap } from "@/api/client";
import { BgpPasswordCard } from "@/components/app/BgpPasswordCard";
import { ConfirmAction } from "@/components/app/ConfirmDialog";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { IrrCard } from "@/components/app/IrrCard";
import { LookingGlass } from "@/components/app/LookingGlass";
import { Mono } from "@/components/app/Mono";
import {
  MembershipCard,
  PolicyReasons,
  RequestHeader,
  RequestNotice,
  RequestSummary,
  RouteServersCard,
  Timeline,
} from "@/components/app/RequestParts";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { keys, useRequest, useRequestAction } from "@/hooks/queries";
import { shortId } from "@/lib/format";
import { NotFoundPage } from "./NotFoundPage";

/** Someone else's request and a malformed ID both look like a request that does not exist. */
function isMissing(error: unknown): boolean {
  return (
    isApiError(error) &&
    (error.code === "request_not_found" ||
      error.code === "not_found" ||
      (error.status === 422 && error.code === "validation_failed"))
  );
}

/** A request page until its request is there: a skeleton, "not found", or the error. */
export function RequestNotLoaded({ query }: { query: UseQueryResult<unknown> }) {
  if (query.isError) {
    if (isMissing(query.error)) return <NotFoundPage what="request" />;
    return <ErrorPanel error={query.error} onRetry={() => void query.refetch()} />;
  }
  return <Skeleton className="h-96 w-full" />;
}

export function RequestPage() {
  const { id = "" } = useParams();
  const request = useRequest(id);
  const key = keys.request(id);
  const cancel = useRequestAction({
    key,
    run: ({ id }) => unwrap(api.POST("/api/v1/requests/{request_id}/cancel", requestPath(id))),
    optimistic: "cancelled",
    success: "Request cancelled",
    alsoInvalidate: [keys.myRequests],
  });
  const leave = useRequestAction({
    key,
    run: ({ id }) => unwrap(api.POST("/api/v1/requests/{request_id}/leave", requestPath(id))),
    optimistic: "deprovisioning",
    success: "Leaving the IX: your router is being removed",
    alsoInvalidate: [keys.myRequests],
  });
  React.useEffect(() => {
    document.title = `Request ${shortId(id)} · ZT-IX`;
  }, [id]);

  if (!request.isSuccess) return <RequestNotLoaded query={request} />;
  const r = request.data;

  return (
    <>
      <RequestHeader
        request={r}
        back={{ to: "/dashboard", label: "My requests" }}
        actions={
          <>
            {r.status === "pending" ? (
              <ConfirmAction
                trigger={
                  <>
                    <Undo2 aria-hidden="true" />
                    Cancel request
                  </>
                }
                triggerVariant="outline"
                title="Cancel this request?"
                description="The IX team will not review it. You can send a new one at any time."
                confirmLabel="Cancel request"
                variant="destructive"
                pending={cancel.isPending}
                onConfirm={() => cancel.mutate({ id: r.id })}
              />
            ) : null}
            {r.status === "active" ? (
              <ConfirmAction
                trigger={
                  <>
                    <DoorOpen aria-hidden="true" />
                    Leave the IX
                  </>
                }
                triggerVariant="outline"
                title="Leave the IX with this router?"
                description={
                  <>
                    Node <Mono>{r.node_id}</Mono> is removed from the peering LAN, its addresses are released and its
                    BGP sessions on the route servers are deleted.
                  </>
                }
                confirmLabel="Leave the IX"
                variant="destructive"
                pending={leave.isPending}
                onConfirm={() => leave.mutate({ id: r.id })}
              />
            ) : null}
          </>
        }
      />
      <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_17rem]">
        <div className="grid min-w-0 gap-6">
          <RequestNotice request={r} />
          <PolicyReasons request={r} />
          <MembershipCard request={r} />
          <RouteServersCard request={r} />
          {r.status === "active" || r.status === "provisioning" ? <IrrCard requestId={r.id} /> : null}
          <LookingGlass request={r} />
          {r.status === "active" || r.status === "provisioning" || r.status === "approved" ? (
            <BgpPasswordCard request={r} />
          ) : null}
          <Card>
            <CardHeader>
              <CardTitle>Details</CardTitle>
            </CardHeader>
            <CardContent>
              <RequestSummary request={r} />
            </CardContent>
          </Card>
        </div>
        <Card className="h-fit">
          <CardHeader>
            <CardTitle>Progress</CardTitle>
          </CardHeader>
          <CardContent>
            <Timeline request={r} />
          </CardContent>
        </Card>
      </div>
      {r.status === "pending" || r.status === "failed" ? null : (
        <p className="sr-only" aria-live="polite">
          Status: {r.status}
        </p>
      )}
      {r.status === "active" ? null : (
        <div className="mt-6">
          <Button asChild variant="link" className="px-0">
            <Link to="/onboarding">Connect another router</Link>
          </Button>
        </div>
      )}
    </>
  );
}
