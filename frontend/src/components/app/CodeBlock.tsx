import { CopyButton } from "./CopyButton";

export function CodeBlock({ code, label }: { code: string; label: string }) {
  return (
    <div className="overflow-hidden rounded-lg border border-line bg-soft">
      <div className="flex items-center justify-between gap-2 border-b border-line px-3 py-1.5 marble-faint">
        <span className="text-xs font-medium text-slate">{label}</span>
        <CopyButton text={code} label={`Copy: ${label}`} />
      </div>
      {/* biome-ignore lint/a11y/useAriaPropsSupportedByRole: the name says which snippet the focused region holds */}
      <pre
        className="overflow-x-auto p-3 text-[0.8125rem] leading-relaxed text-graphite"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take focus (axe scrollable-region-focusable)
        tabIndex={0}
        aria-label={label}
      >
        <code>{code}</code>
      </pre>
    </div>
  );
}
