/**
 * Polling that respects the server and the user: fast while things move, slower each time
 * nothing changed, off for good on a terminal state, paused while the tab is hidden.
 */
import type { Query, QueryKey } from "@tanstack/react-query";

export interface PollPolicy {
  /** First delay, and the delay after anything changed. */
  baseMs: number;
  /** The slowest it gets. */
  maxMs: number;
  /** Each unchanged answer multiplies the delay by this. */
  factor: number;
}

export const FAST: PollPolicy = { baseMs: 2000, maxMs: 30000, factor: 1.6 };
export const CALM: PollPolicy = { baseMs: 5000, maxMs: 60000, factor: 1.5 };

/** The next delay, given the last one and whether the answer changed. */
export function nextDelay(previous: number | null, changed: boolean, policy: PollPolicy): number {
  if (previous === null || changed) return policy.baseMs;
  return Math.min(policy.maxMs, Math.round(previous * policy.factor));
}

export function tabHidden(): boolean {
  return typeof document !== "undefined" && document.visibilityState === "hidden";
}

export interface AdaptiveOptions<T> {
  policy?: PollPolicy;
  /** True when the data can no longer change by itself: polling stops. */
  done?: (data: T) => boolean;
  /** What counts as a change (default: the JSON text). */
  fingerprint?: (data: T) => string;
}

/**
 * A stateful interval for TanStack Query's `refetchInterval` function form. Keep one per
 * query (useRef / useState), call {@link AdaptivePoller.interval} with the latest data.
 */
export class AdaptivePoller<T> {
  private delay: number | null = null;
  private lastPrint: string | null = null;
  private lastUpdatedAt = -1;
  private readonly options: Required<AdaptiveOptions<T>>;

  constructor(options: AdaptiveOptions<T> = {}) {
    this.options = {
      policy: options.policy ?? FAST,
      done: options.done ?? (() => false),
      fingerprint: options.fingerprint ?? ((data) => JSON.stringify(data)),
    };
  }

  /** The delay before the next poll, or false for none. `updatedAt` tells a new answer from
   *  a repeated call about the same one (the function form is called on every render too). */
  interval(data: T | undefined, updatedAt: number): number | false {
    if (tabHidden()) return false;
    if (data === undefined) return this.options.policy.baseMs;
    if (this.options.done(data)) return false;
    if (updatedAt !== this.lastUpdatedAt) {
      this.lastUpdatedAt = updatedAt;
      const print = this.options.fingerprint(data);
      const changed = this.lastPrint !== null && print !== this.lastPrint;
      this.delay = nextDelay(this.lastPrint === null ? null : this.delay, changed, this.options.policy);
      this.lastPrint = print;
    }
    return this.delay ?? this.options.policy.baseMs;
  }

  /** For `refetchInterval: poller.forQuery`. */
  forQuery = (query: Query<T, Error, T, QueryKey>): number | false =>
    this.interval(query.state.data, query.state.dataUpdatedAt);
}
