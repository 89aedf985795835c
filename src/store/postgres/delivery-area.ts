import type { DeliveryStore, ReplayStore, RetentionStore } from "../driver.ts";
import type { PgContext } from "./context.ts";
import { notBuilt } from "./not-built.ts";

export function deliveryStore(_ctx: PgContext): DeliveryStore {
  return notBuilt("delivery");
}

export function replayStore(_ctx: PgContext): ReplayStore {
  return notBuilt("replay");
}

export function retentionStore(_ctx: PgContext): RetentionStore {
  return notBuilt("retention");
}
