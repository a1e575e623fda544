import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { IrrStatus } from "@/api/types";
import { IrrBadge, IrrDetails } from "./IrrCard";

const base: IrrStatus = {
  asn: 211101,
  enabled: true,
  as_set: "RIPE::AS-EXAMPLE",
  as_set_choice: "peeringdb",
  next_as_set: "RIPE::AS-EXAMPLE",
  next_choice: "peeringdb",
  override: null,
  peeringdb_as_set: "RIPE::AS-EXAMPLE",
  prefixes_ipv4: 3,
  prefixes_ipv6: 1,
  origins: 2,
  fetched_at: new Date(Date.now() - 2 * 3600_000).toISOString(),
  age_seconds: 7200,
  changed_at: null,
  last_attempt_at: new Date().toISOString(),
  last_error_code: null,
  last_error: null,
  failures_total: 0,
};

describe("IRR details", () => {
  it("shows the AS-SET in use, where it came from, the counts and the age", () => {
    render(<IrrDetails irr={base} />);
    expect(screen.getAllByText("RIPE::AS-EXAMPLE")).toHaveLength(2);
    expect(screen.getByText("from PeeringDB's IRR AS-SET")).toBeVisible();
    expect(screen.getByText("3 IPv4 · 1 IPv6 · 2 origin ASNs")).toBeVisible();
    expect(screen.getByText("2 h ago")).toBeVisible();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("says the last good data is kept when a refresh failed", () => {
    const failed = { ...base, last_error_code: "irr_query_failed", last_error: "bgpq4 exited with 1" };
    render(<IrrDetails irr={failed} />);
    expect(screen.getByRole("alert")).toHaveTextContent("keep filtering on the last good data");
    expect(screen.getByRole("alert")).toHaveTextContent("bgpq4 exited with 1");
  });

  it("badges each state", () => {
    const { rerender } = render(<IrrBadge irr={base} />);
    expect(screen.getByText("IRR data current")).toBeVisible();
    rerender(<IrrBadge irr={{ ...base, last_error_code: "irr_timeout" }} />);
    expect(screen.getByText("Last refresh failed")).toBeVisible();
    rerender(<IrrBadge irr={{ ...base, prefixes_ipv4: null }} />);
    expect(screen.getByText("Not checked yet")).toBeVisible();
    rerender(<IrrBadge irr={{ ...base, enabled: false }} />);
    expect(screen.getByText("IRR filtering off")).toBeVisible();
  });
});
