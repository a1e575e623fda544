import { KeyRound } from "lucide-react";
import * as React from "react";
import type { Me } from "@/api/types";
import { ErrorPanel } from "@/components/app/ErrorPanel";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardFooter } from "@/components/ui/card";
import { Input, NativeSelect } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { type ApiTokenCreated, useCreateToken } from "@/hooks/tokens";

const EXPIRY_DAYS = [7, 30, 90, 180, 365] as const;

/** Create a token: a name, member (ASNs) or admin, read or read + write, an expiry. */
export function NewTokenForm({ me, onCreated }: { me: Me; onCreated: (created: ApiTokenCreated) => void }) {
  const create = useCreateToken();
  const heldAsns = [...new Set(me.asns.map((a) => a.asn))].sort((a, b) => a - b);
  const [name, setName] = React.useState("");
  const [kind, setKind] = React.useState<"member" | "admin">(heldAsns.length ? "member" : "admin");
  const [asns, setAsns] = React.useState<number[]>(heldAsns.length === 1 ? heldAsns : []);
  const [write, setWrite] = React.useState(false);
  const [days, setDays] = React.useState(90);
  const [touched, setTouched] = React.useState(false);
  const nameProblem = name.trim() ? null : "Give the token a name, e.g. the system that uses it.";
  const asnProblem = kind === "member" && asns.length === 0 ? "Pick at least one ASN." : null;

  function toggle(asn: number) {
    setAsns((current) => (current.includes(asn) ? current.filter((a) => a !== asn) : [...current, asn]));
  }

  function submit(event: React.FormEvent) {
    event.preventDefault();
    setTouched(true);
    if (nameProblem || asnProblem) return;
    create.mutate(
      { name: name.trim(), kind, asns: kind === "member" ? asns : [], write, expires_in_days: days },
      {
        onSuccess: (created) => {
          onCreated(created);
          setName("");
          setTouched(false);
        },
      },
    );
  }

  return (
    <Card className="max-w-2xl">
      <form onSubmit={submit} noValidate aria-labelledby="new-token-title">
        <CardContent className="grid gap-5 pt-6">
          <h2 id="new-token-title" className="text-lg font-semibold text-teal-deep">
            New token
          </h2>
          <div className="grid gap-1.5">
            <Label htmlFor="token-name">Name</Label>
            <Input
              id="token-name"
              value={name}
              maxLength={100}
              placeholder="provisioning"
              aria-invalid={touched && nameProblem ? true : undefined}
              aria-describedby={touched && nameProblem ? "token-name-problem" : undefined}
              onChange={(e) => setName(e.target.value)}
            />
            {touched && nameProblem ? (
              <p id="token-name-problem" className="text-sm text-danger">
                {nameProblem}
              </p>
            ) : null}
          </div>
          {me.role === "admin" ? (
            <div className="grid gap-1.5">
              <Label htmlFor="token-kind">Kind</Label>
              <NativeSelect
                id="token-kind"
                value={kind}
                onChange={(e) => setKind(e.target.value === "admin" ? "admin" : "member")}
              >
                {heldAsns.length ? <option value="member">Member token: acts for the ASNs you pick</option> : null}
                <option value="admin">Admin token: acts as you, an IX admin</option>
              </NativeSelect>
            </div>
          ) : null}
          {kind === "member" ? (
            <fieldset
              className="grid gap-1.5"
              aria-describedby={touched && asnProblem ? "token-asn-problem" : undefined}
            >
              <legend className="mb-1 text-sm font-medium text-graphite">ASNs it acts for</legend>
              <div className="flex flex-wrap gap-x-5 gap-y-2">
                {heldAsns.map((asn) => (
                  <label key={asn} className="flex items-center gap-2 text-sm text-graphite">
                    <input
                      type="checkbox"
                      className="size-4 accent-harbor"
                      checked={asns.includes(asn)}
                      onChange={() => toggle(asn)}
                    />
                    <span className="font-mono">AS{asn}</span>
                  </label>
                ))}
              </div>
              {touched && asnProblem ? (
                <p id="token-asn-problem" className="text-sm text-danger">
                  {asnProblem}
                </p>
              ) : null}
            </fieldset>
          ) : null}
          <div className="grid gap-4 sm:grid-cols-2">
            <div className="grid gap-1.5">
              <Label htmlFor="token-scope">Scope</Label>
              <NativeSelect
                id="token-scope"
                value={write ? "write" : "read"}
                onChange={(e) => setWrite(e.target.value === "write")}
              >
                <option value="read">Read only</option>
                <option value="write">Read and write (join, cancel, leave)</option>
              </NativeSelect>
            </div>
            <div className="grid gap-1.5">
              <Label htmlFor="token-expiry">Expires after</Label>
              <NativeSelect id="token-expiry" value={days} onChange={(e) => setDays(Number(e.target.value))}>
                {EXPIRY_DAYS.map((d) => (
                  <option key={d} value={d}>
                    {d} days
                  </option>
                ))}
              </NativeSelect>
            </div>
          </div>
          {create.isError ? <ErrorPanel error={create.error} /> : null}
        </CardContent>
        <CardFooter>
          <Button type="submit" disabled={create.isPending}>
            <KeyRound aria-hidden="true" />
            {create.isPending ? "Creating…" : "Create token"}
          </Button>
        </CardFooter>
      </form>
    </Card>
  );
}
