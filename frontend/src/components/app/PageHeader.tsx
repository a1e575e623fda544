import type * as React from "react";

export function PageHeader({
  title,
  description,
  actions,
  eyebrow,
}: {
  title: React.ReactNode;
  description?: React.ReactNode;
  actions?: React.ReactNode;
  eyebrow?: React.ReactNode;
}) {
  return (
    <div className="mb-6 flex flex-col gap-3 sm:flex-row sm:items-end sm:justify-between">
      <div className="min-w-0">
        {eyebrow ? <div className="mb-1 text-[0.8125rem] font-medium text-taupe">{eyebrow}</div> : null}
        <h1 className="text-2xl font-semibold tracking-tight text-teal-deep">{title}</h1>
        {description ? <div className="mt-1 max-w-2xl text-sm text-slate">{description}</div> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}
