import * as React from "react";
import { Button, type ButtonProps } from "@/components/ui/button";
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

/** A button that asks before it acts. With `reasonLabel`, the dialog asks for a reason
 *  (required) and passes it on. */
export function ConfirmAction({
  trigger,
  title,
  description,
  confirmLabel,
  variant = "default",
  reasonLabel,
  pending,
  onConfirm,
  triggerVariant,
}: {
  trigger: React.ReactNode;
  title: string;
  description: React.ReactNode;
  confirmLabel: string;
  variant?: ButtonProps["variant"];
  triggerVariant?: ButtonProps["variant"];
  reasonLabel?: string;
  pending?: boolean;
  onConfirm: (reason?: string) => void;
}) {
  const [open, setOpen] = React.useState(false);
  const [reason, setReason] = React.useState("");
  const [touched, setTouched] = React.useState(false);
  const reasonId = React.useId();
  const missing = reasonLabel !== undefined && reason.trim() === "";

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          setReason("");
          setTouched(false);
        }
      }}
    >
      <DialogTrigger asChild>
        <Button variant={triggerVariant ?? variant} disabled={pending}>
          {trigger}
        </Button>
      </DialogTrigger>
      <DialogContent>
        <form
          className="grid gap-4"
          onSubmit={(event) => {
            event.preventDefault();
            setTouched(true);
            if (missing) return;
            onConfirm(reasonLabel !== undefined ? reason.trim() : undefined);
            setOpen(false);
          }}
        >
          <DialogHeader>
            <DialogTitle>{title}</DialogTitle>
            <DialogDescription>{description}</DialogDescription>
          </DialogHeader>
          {reasonLabel !== undefined ? (
            <div className="grid gap-2">
              <Label htmlFor={reasonId}>{reasonLabel}</Label>
              <Textarea
                id={reasonId}
                value={reason}
                maxLength={2000}
                aria-invalid={touched && missing}
                aria-describedby={touched && missing ? `${reasonId}-error` : undefined}
                onChange={(e) => setReason(e.target.value)}
                autoFocus
              />
              {touched && missing ? (
                <p id={`${reasonId}-error`} className="text-sm text-danger">
                  A reason is required: the member will read it.
                </p>
              ) : null}
            </div>
          ) : null}
          <DialogFooter>
            <Button variant="outline" onClick={() => setOpen(false)}>
              Keep it
            </Button>
            <Button type="submit" variant={variant}>
              {confirmLabel}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
