/** "The session is gone" travels from any query or mutation to the router, which sends the
 *  user to /login and remembers where they were. */
type Listener = () => void;
const listeners = new Set<Listener>();

export function onSessionLost(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function sessionLost(): void {
  for (const listener of listeners) listener();
}

const NEXT_KEY = "ztix.next";

/** A path inside this app that is safe to return to after login (never another origin). */
export function safeNext(value: string | null | undefined): string | null {
  if (!value?.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return null;
  if (value.startsWith("/login") || value.startsWith("/auth/")) return null;
  return value;
}

/** PeeringDB login leaves the app: keep the return path in this tab meanwhile. */
export function rememberNext(path: string | null): void {
  try {
    if (path) sessionStorage.setItem(NEXT_KEY, path);
    else sessionStorage.removeItem(NEXT_KEY);
  } catch {
    /* storage may be disabled */
  }
}

export function takeNext(): string | null {
  try {
    const value = sessionStorage.getItem(NEXT_KEY);
    sessionStorage.removeItem(NEXT_KEY);
    return safeNext(value);
  } catch {
    return null;
  }
}
