// The error every layer below the HTTP API throws when a request cannot be done as asked:
// items a client can act on ({message, field, code}). The code names what went wrong; each
// API decides what it means on the wire (the REST API: a status from its code → status
// map and the {"errors": [...]} envelope).

export const ERROR_CODES = [
  "malformed_json",
  "malformed_body",
  "unsupported_media_type",
  "invalid_type",
  "required",
  "unknown_field",
  "invalid_value",
  "invalid_url",
  "invalid_format",
  "too_small",
  "too_big",
  "verification_failed",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "payload_too_large",
  "request_timeout",
  "rate_limited",
  "server_busy",
  "store_full",
  "store_unavailable",
  "internal_error",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ErrorItem = { message: string; field?: string; code: ErrorCode };

export class ServiceError extends Error {
  override name = "ServiceError";
  readonly items: ErrorItem[];
  constructor(items: ErrorItem | ErrorItem[]) {
    const list = Array.isArray(items) ? items : [items];
    super(list.map((i) => i.message).join("; "));
    this.items = list;
  }
}
