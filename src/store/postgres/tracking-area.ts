import type { TrackingStore } from "../driver.ts";
import type { PgContext } from "./context.ts";
import { notBuilt } from "./not-built.ts";

export function trackingStore(_ctx: PgContext): TrackingStore {
  return notBuilt("tracking");
}
