import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ConfirmAction } from "./ConfirmDialog";

describe("ConfirmAction", () => {
  it("asks before acting, and can be dismissed", async () => {
    const onConfirm = vi.fn();
    render(
      <ConfirmAction
        trigger="Approve"
        title="Approve this request?"
        description="x"
        confirmLabel="Yes, approve"
        onConfirm={onConfirm}
      />,
    );
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Approve" }));
    expect(screen.getByRole("dialog", { name: "Approve this request?" })).toBeVisible();
    await user.click(screen.getByRole("button", { name: "Keep it" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(onConfirm).not.toHaveBeenCalled();

    await user.click(screen.getByRole("button", { name: "Approve" }));
    await user.click(screen.getByRole("button", { name: "Yes, approve" }));
    expect(onConfirm).toHaveBeenCalledWith(undefined);
  });

  it("requires a reason when it asks for one and hands it on trimmed", async () => {
    const onConfirm = vi.fn();
    render(
      <ConfirmAction
        trigger="Reject"
        title="Reject?"
        description="x"
        confirmLabel="Reject it"
        reasonLabel="Reason"
        onConfirm={onConfirm}
      />,
    );
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Reject" }));
    await user.click(screen.getByRole("button", { name: "Reject it" }));
    expect(screen.getByText("A reason is required: the member will read it.")).toBeVisible();
    expect(screen.getByLabelText("Reason")).toHaveAttribute("aria-invalid", "true");
    expect(onConfirm).not.toHaveBeenCalled();
    await user.type(screen.getByLabelText("Reason"), "  not a peering router  ");
    await user.click(screen.getByRole("button", { name: "Reject it" }));
    expect(onConfirm).toHaveBeenCalledWith("not a peering router");
  });
});
