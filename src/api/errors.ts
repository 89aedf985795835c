import { z } from "zod";
import { ERROR_CODES, ServiceError } from "../lib/errors.ts";

// One error envelope for every failure the API reports. The code decides the status, so a
// handler says what went wrong and never picks a number by hand. The codes and the error
// class the services throw live in lib/errors.ts; ApiError adds what only HTTP has.

export { ERROR_CODES, ServiceError };

export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

const STATUS: Record<ErrorCode, 400 | 401 | 403 | 404 | 408 | 409 | 413 | 415 | 422 | 429 | 500 | 503 | 507> = {
  malformed_json: 400,
  malformed_body: 400,
  unsupported_media_type: 415,
  invalid_type: 400,
  required: 400,
  unknown_field: 400,
  invalid_value: 400,
  invalid_url: 400,
  invalid_format: 400,
  too_small: 400,
  too_big: 400,
  verification_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  request_timeout: 408,
  rate_limited: 429,
  internal_error: 500,
  server_busy: 503,
  store_full: 507,
  store_unavailable: 503,
};

export const ErrorItem = z.object({
  message: z.string().meta({ example: 'expected a URL with http or https, got "ftp://x"' }),
  field: z.string().optional().meta({ example: "target" }),
  code: ErrorCode,
});
export type ErrorItem = z.infer<typeof ErrorItem>;
export const ErrorEnvelope = z.object({ errors: z.array(ErrorItem) }).meta({ id: "Errors" });

/** A ServiceError with the response headers it needs (Retry-After); its first code sets the status. */
export class ApiError extends ServiceError {
  override name = "ApiError";
  readonly headers: Record<string, string>;
  constructor(items: ErrorItem | ErrorItem[], headers: Record<string, string> = {}) {
    super(items);
    this.headers = headers;
  }
  /** A service's error as the API renders it: same items, no extra headers. */
  static from(err: ServiceError): ApiError {
    return err instanceof ApiError ? err : new ApiError(err.items);
  }
  get status() {
    return STATUS[this.items[0]?.code ?? "internal_error"];
  }
}

export function statusOf(code: ErrorCode) {
  return STATUS[code];
}

/** `[3, "rcpt_to"]` → `[3].rcpt_to`; the path a client can find in the body it sent. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

// A 10,000-error response helps nobody; the first ones show the pattern.
const MAX_ERRORS_LISTED = 100;

/** The first MAX_ERRORS_LISTED items, then one that says how many more there were. */
export function listedErrors(items: readonly ErrorItem[]): ErrorItem[] {
  const listed = items.slice(0, MAX_ERRORS_LISTED);
  if (items.length > MAX_ERRORS_LISTED)
    listed.push({ message: `and ${items.length - MAX_ERRORS_LISTED} more errors`, code: listed[0]!.code });
  return listed;
}

/** zod issues → error items that name the field, say what was expected and what came. */
export function zodErrors(error: z.ZodError, input: unknown, prefix: readonly PropertyKey[] = []): ErrorItem[] {
  const items: ErrorItem[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    const got = valueAt(input, issue.path);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const f = fieldPath([...path, key]);
        items.push({ message: `${f}: unknown field`, field: f, code: "unknown_field" });
      }
      continue;
    }
    const field = fieldPath(path) || undefined;
    const where = field ? `${field}: ` : "";
    let code: ErrorCode = "invalid_value";
    let message = issue.message;
    switch (issue.code) {
      case "invalid_type":
        code = got === undefined ? "required" : "invalid_type";
        message = got === undefined ? "is required" : `expected ${issue.expected}, got ${describe(got)}`;
        break;
      case "invalid_format":
        code = issue.format === "url" ? "invalid_url" : "invalid_format";
        message = `${issue.message.replace(/^Invalid /, "expected a valid ")}, got ${describe(got)}`;
        break;
      case "too_small":
        code = "too_small";
        break;
      case "too_big":
        code = "too_big";
        break;
      case "invalid_union": {
        const options = (issue as { options?: unknown[] }).options;
        code = "invalid_value";
        message = options ? `expected one of ${options.join(", ")}, got ${describe(got)}` : `${issue.message}, got ${describe(got)}`;
        break;
      }
      case "invalid_key": {
        // zod wraps a record key's own error; its message is the one that says why.
        const inner = (issue as { issues?: { message: string }[] }).issues ?? [];
        message = inner.map((i) => i.message).join("; ") || issue.message;
        break;
      }
      case "invalid_value":
        code = "invalid_value";
        message = `${issue.message}, got ${describe(got)}`;
        break;
      case "custom":
        code = ((issue.params as { code?: ErrorCode } | undefined)?.code ?? "invalid_value") as ErrorCode;
        break;
      default:
        break;
    }
    items.push({ message: where + message, ...(field ? { field } : {}), code });
  }
  return items;
}
