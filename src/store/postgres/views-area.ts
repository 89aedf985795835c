import type { ViewStore } from "../driver.ts";
import type { PgContext } from "./context.ts";
import { notBuilt } from "./not-built.ts";

export function viewStore(_ctx: PgContext): ViewStore {
  return notBuilt("views");
}
