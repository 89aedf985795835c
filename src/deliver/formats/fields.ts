import type { z } from "zod";
import type { ClickEvent, CustomEvent, DeliveryEvent, SpamComplaintEvent } from "../../events/schema.ts";

/** Every field any event type may carry, all optional: what the format mappers read from. */
export type EventFields = Partial<
  Omit<z.infer<typeof DeliveryEvent>, "type"> &
    Omit<z.infer<typeof ClickEvent>, "type"> &
    Omit<z.infer<typeof SpamComplaintEvent>, "type"> &
    Omit<z.infer<typeof CustomEvent>, "type">
>;
