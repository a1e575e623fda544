import { describe, expect, it } from "vitest";
import { nodeIdProblem, normalizeNodeId } from "./identifiers";

describe("node IDs", () => {
  it("accepts 10 hex digits in any case", () => {
    expect(nodeIdProblem("1a2b3c4d5e")).toBeNull();
    expect(nodeIdProblem(" 1A2B3C4D5E ")).toBeNull();
    expect(normalizeNodeId(" 1A2B3C4D5E ")).toBe("1a2b3c4d5e");
  });
  it.each([
    ["", "Enter your router's ZeroTier node ID."],
    ["1a2b3c4d5g", "Only the digits 0-9 and letters a-f are allowed."],
    ["1a2b3", "A node ID has exactly 10 characters (this has 5)."],
    ["0000000000", "0000000000 is not a real node ID."],
    ["ff12345678", "Node IDs starting with ff are reserved."],
  ])("refuses %j", (value, problem) => {
    expect(nodeIdProblem(value)).toBe(problem);
  });
});
