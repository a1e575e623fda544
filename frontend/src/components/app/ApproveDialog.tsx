import { Check } from "lucide-react";
import * as React from "react";
import type { ApprovalSettings } from "@/api/types";
import { LimitInput, parseLimit } from "@/components/app/ImportLimits";
import { Mono } from "@/components/app/Mono";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { Textarea } from "@/components/ui/input";
import { Label } from "@/components/ui/label";

/** The Approve button: a dialog that confirms, with optional import-limit overrides for the
 *  route servers and a note for the other admins. */
export function ApproveDialog({
  nodeId,
  asn,
  pending,
  onApprove,
}: {
  nodeId: string;
  asn: number;
  pending?: boolean;
  onApprove: (settings: ApprovalSettings) => void;
}) {
  const [open, setOpen] = React.useState(false);
  const [v4, setV4] = React.useState("");
  const [v6, setV6] = React.useState("");
  const [note, setNote] = React.useState("");
  const [touched, setTouched] = React.useState(false);
  const noteId = React.useId();
  const p4 = parseLimit(v4);
  const p6 = parseLimit(v6);
  const bad = p4 === "bad" || p6 === "bad";
  const reset = () => {
    setV4("");
    setV6("");
    setNote("");
    setTouched(false);
  };

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) reset();
      }}
    >
      <DialogTrigger asChild>
        <Button disabled={pending}>
          <Check aria-hidden="true" />
          Approve
        </Button>
      </DialogTrigger>
      <DialogContent>
        <form
          className="grid gap-4"
          aria-label="Approval settings"
          onSubmit={(event) => {
            event.preventDefault();
            setTouched(true);
            if (bad) return;
            onApprove({
              max_prefix_ipv4: p4 as number | null,
              max_prefix_ipv6: p6 as number | null,
              note: note.trim(),
            });
            setOpen(false);
            reset();
          }}
        >
          <DialogHeader>
            <DialogTitle>Approve this request?</DialogTitle>
            <DialogDescription>
              ZT-IX authorizes node <Mono>{nodeId}</Mono> for <Mono>AS{asn}</Mono> and sets up its route-server
              sessions.
            </DialogDescription>
          </DialogHeader>
          <fieldset className="grid gap-2">
            <legend className="text-sm font-medium text-graphite">Import limits (optional)</legend>
            <p className="text-sm text-slate">
              Overrides PeeringDB's hint for this member on the route servers. Leave empty to keep it.
            </p>
            <div className="flex flex-wrap gap-3">
              <LimitInput
                id="approve-mp4"
                label="IPv4 max-prefix"
                value={v4}
                onChange={setV4}
                invalid={touched && p4 === "bad"}
              />
              <LimitInput
                id="approve-mp6"
                label="IPv6 max-prefix"
                value={v6}
                onChange={setV6}
                invalid={touched && p6 === "bad"}
              />
            </div>
            {touched && bad ? (
              <p className="text-sm text-danger" role="alert">
                A limit is a whole number from 1 to 10,000,000.
              </p>
            ) : null}
          </fieldset>
          <div className="grid gap-2">
            <Label htmlFor={noteId}>Note for the other admins (optional)</Label>
            <Textarea id={noteId} value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />
          </div>
          <DialogFooter>
            <Button variant="outline" type="button" onClick={() => setOpen(false)}>
              Keep it
            </Button>
            <Button type="submit">Approve</Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
