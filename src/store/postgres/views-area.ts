// The delivery views on PostgreSQL (views.ts; each webhook's queue in views-queues.ts).
export { viewStore } from "./views.ts";
