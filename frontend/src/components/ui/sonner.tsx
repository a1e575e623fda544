import { Toaster as Sonner, type ToasterProps } from "sonner";

/** Toasts in the marble palette; sonner announces them in an aria-live region. */
export function Toaster(props: ToasterProps) {
  return (
    <Sonner
      position="top-right"
      closeButton
      toastOptions={{
        classNames: {
          toast: "!rounded-lg !border !border-line !bg-paper !text-graphite !shadow-lift !font-sans",
          description: "!text-slate",
          error: "!border-[#ecc3bc] [&_[data-icon]]:!text-danger",
          success: "[&_[data-icon]]:!text-ok",
        },
      }}
      {...props}
    />
  );
}
