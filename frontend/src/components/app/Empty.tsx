import type * as React from "react";

export function Empty({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <div className="rounded-xl border border-dashed border-fog p-8 text-center marble-faint">
      <p className="font-medium text-teal-deep">{title}</p>
      {children ? <div className="mt-2 text-sm text-slate">{children}</div> : null}
    </div>
  );
}
