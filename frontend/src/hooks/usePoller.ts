import { useState } from "react";
import { type AdaptiveOptions, AdaptivePoller } from "@/lib/polling";

/** A `refetchInterval` function that slows down while nothing changes, stops once `done`,
 *  and pauses while the tab is hidden. One poller per component instance. */
export function usePoller<T>(options: AdaptiveOptions<T> = {}) {
  const [poller] = useState(() => new AdaptivePoller<T>(options));
  return poller.forQuery;
}
