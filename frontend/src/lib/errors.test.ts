import { describe, expect, it } from "vitest";
import { ApiError } from "@/api/client";
import { describeCode, describeError, ERROR_TEXT } from "./errors";

describe("error sentences", () => {
  it("maps a problem code to its sentence and hint", () => {
    const text = describeError(new ApiError(409, "duplicate_open_request", "request x is pending"));
    expect(text.message).toBe("You already have an open request for this ASN, network and node.");
  });
  it("falls back to the server's detail for a code it does not know", () => {
    expect(describeError(new ApiError(400, "brand_new_code", "What the server said")).message).toBe(
      "What the server said",
    );
  });
  it("explains an unreachable server", () => {
    expect(describeError(new ApiError(0, "network_error", "")).message).toMatch(/could not be reached/);
  });
  it("has a generic sentence for anything else", () => {
    expect(describeError(new Error("boom")).message).toBe("Something went wrong.");
    expect(describeCode(null).message).toBe("Something went wrong.");
  });
  it("writes every sentence as a sentence", () => {
    for (const [code, text] of Object.entries(ERROR_TEXT)) {
      expect(text.message, code).toMatch(/^[A-Z].*\.$/);
      if (text.hint) expect(text.hint, code).toMatch(/[.)]$/);
    }
  });
});
