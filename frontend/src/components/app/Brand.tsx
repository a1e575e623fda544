export function Brand({ compact = false }: { compact?: boolean }) {
  return (
    <span className="flex items-center gap-2.5">
      <svg viewBox="0 0 32 32" className="size-8 shrink-0" aria-hidden="true">
        <rect width="32" height="32" rx="8" fill="#2d4a51" />
        <path
          d="M9 11h14L9 21h14"
          stroke="#f6efe9"
          strokeWidth="2.6"
          fill="none"
          strokeLinecap="round"
          strokeLinejoin="round"
        />
        <circle cx="24" cy="9" r="2.4" fill="#c08a6c" />
      </svg>
      {compact ? null : (
        <span className="leading-tight">
          <span className="block text-[0.95rem] font-semibold tracking-tight text-teal-deep">ZT-IX</span>
          <span className="block text-[0.7rem] text-taupe">virtual Internet Exchange</span>
        </span>
      )}
    </span>
  );
}
