import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ApproveDialog } from "./ApproveDialog";

describe("ApproveDialog", () => {
  it("approves as before when nothing is set", async () => {
    const onApprove = vi.fn();
    render(<ApproveDialog nodeId="abcdef0123" asn={213035} onApprove={onApprove} />);
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Approve" }));
    const dialog = screen.getByRole("dialog", { name: "Approve this request?" });
    await user.click(within(dialog).getByRole("button", { name: "Approve" }));
    expect(onApprove).toHaveBeenCalledWith({ max_prefix_ipv4: null, max_prefix_ipv6: null, note: "" });
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("refuses a bad limit and hands on the limits and the trimmed note", async () => {
    const onApprove = vi.fn();
    render(<ApproveDialog nodeId="abcdef0123" asn={213035} onApprove={onApprove} />);
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Approve" }));
    const dialog = screen.getByRole("dialog");
    await user.type(within(dialog).getByLabelText("IPv4 max-prefix"), "0");
    await user.click(within(dialog).getByRole("button", { name: "Approve" }));
    expect(within(dialog).getByRole("alert")).toHaveTextContent("A limit is a whole number from 1 to 10,000,000.");
    expect(onApprove).not.toHaveBeenCalled();

    await user.clear(within(dialog).getByLabelText("IPv4 max-prefix"));
    await user.type(within(dialog).getByLabelText("IPv4 max-prefix"), "250");
    await user.type(within(dialog).getByLabelText("Note for the other admins (optional)"), "  by phone  ");
    await user.click(within(dialog).getByRole("button", { name: "Approve" }));
    expect(onApprove).toHaveBeenCalledWith({ max_prefix_ipv4: 250, max_prefix_ipv6: null, note: "by phone" });
  });
});
