import { CodeBlock } from "@/components/app/CodeBlock";
import { CopyButton } from "@/components/app/CopyButton";
import type { ApiTokenCreated } from "@/hooks/tokens";

/** The new token's secret: shown this once, with how to use it. */
export function TokenSecret({ created, onDone }: { created: ApiTokenCreated; onDone: () => void }) {
  const origin = window.location.origin;
  return (
    <section
      aria-labelledby="token-secret-title"
      className="mb-6 max-w-2xl rounded-xl border border-[#bcd9cd] bg-ok-soft p-5 shadow-soft"
    >
      <h2 id="token-secret-title" className="font-semibold text-teal-deep">
        Token “{created.token.name}” created
      </h2>
      <p className="mt-1 text-sm text-graphite">
        Copy it now: this is the only time ZT-IX shows it. It keeps only a hash.
      </p>
      <div className="mt-3 flex items-center gap-2">
        <code
          data-testid="token-secret"
          className="min-w-0 flex-1 truncate rounded-md border border-line bg-paper px-3 py-2 font-mono text-sm"
        >
          {created.secret}
        </code>
        <CopyButton text={created.secret} label="Copy the token" />
      </div>
      <p className="mt-4 text-sm text-graphite">Send it as a bearer token; no cookie or CSRF token is needed:</p>
      <CodeBlock label="curl" code={`curl -H "Authorization: Bearer ${created.secret}" ${origin}/api/v1/requests`} />
      <button type="button" className="mt-3 text-sm text-harbor underline" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}
