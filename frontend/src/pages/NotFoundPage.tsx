import { Compass } from "lucide-react";
import * as React from "react";
import { Link } from "react-router";
import { Button } from "@/components/ui/button";

export function NotFoundPage({ what = "page" }: { what?: string }) {
  React.useEffect(() => {
    document.title = "Not found · ZT-IX";
  }, []);
  return (
    <div className="mx-auto max-w-lg py-16 text-center">
      <div className="mx-auto mb-5 grid size-14 place-items-center rounded-2xl border border-fog shadow-soft marble">
        <Compass className="size-6 text-teal" aria-hidden="true" />
      </div>
      <h1 className="text-2xl font-semibold tracking-tight text-teal-deep">Not found</h1>
      <p className="mt-2 text-slate">This {what} does not exist, or it is not yours to see.</p>
      <Button asChild className="mt-6">
        <Link to="/">Go to the start page</Link>
      </Button>
    </div>
  );
}
