import * as React from "react";
import { PageHeader } from "@/components/app/PageHeader";
import { DeliveryLog } from "@/components/notifications/DeliveryLog";
import { EmailSetting } from "@/components/notifications/EmailSetting";
import { Webhooks } from "@/components/notifications/Webhooks";

/** How you hear about your requests: e-mail on or off, webhooks, and every delivery. */
export function NotificationsPage() {
  React.useEffect(() => {
    document.title = "Notifications · ZT-IX";
  }, []);
  return (
    <>
      <PageHeader
        eyebrow="Automation"
        title="Notifications"
        description="ZT-IX tells you when your requests move on. Nothing is lost when your mail server or receiver is down: it is sent again later."
      />
      <div className="grid gap-6">
        <EmailSetting />
        <Webhooks />
      </div>
      <h2 className="mt-10 mb-3 text-lg font-semibold text-teal-deep">Delivery log</h2>
      <DeliveryLog />
    </>
  );
}
