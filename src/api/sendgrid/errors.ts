import type { Context } from "hono";
import type { z } from "zod";
import { ApiError, listedErrors, type ServiceError, statusOf, zodErrors } from "../errors.ts";

// SendGrid's error envelope, {"errors":[{"field","message"}]} (its ErrorResponse schema;
// field null when no one field is at fault), for every answer under /v3 — not hookd's
// {message, field, code}: a SendGrid client reads only these. hookd's own failures
// (ServiceError from the webhook service, ApiError from the shared middleware) are
// rendered here with SendGrid's field names.

export type SendGridErrorItem = { field: string | null; message: string; id?: string; url?: string };

type Status = 400 | 401 | 403 | 404 | 408 | 409 | 413 | 415 | 422 | 429 | 500 | 503 | 507;

export class SendGridError extends Error {
  override name = "SendGridError";
  constructor(
    readonly status: Status,
    readonly items: SendGridErrorItem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(items.map((i) => i.message).join("; "));
  }
}

export const badRequest = (field: string | null, message: string) => new SendGridError(400, [{ field, message }]);

/** SendGrid's answer for an id it does not know (and, here, for a webhook not in sendgrid format). */
export const invalidId = () => new SendGridError(404, [{ field: "id", message: "Invalid id provided." }]);

/** SendGrid's words for a URL it will not take. */
export const invalidUrl = (field: string, url: string) => badRequest(field, `'${url}' is not a valid url`);

/** hookd's field names (the webhook service's) → SendGrid's. */
const FIELD = {
  target: "url",
  name: "friendly_name",
  active: "enabled",
  // The service asks for the OAuth credentials again when the URL moves; the secret is the part a SendGrid client resends.
  auth_request_details: "oauth_client_secret",
  "auth_request_details.url": "oauth_token_url",
} as const;

function renamed(field: string | undefined, message: string): SendGridErrorItem {
  if (field === undefined) return { field: null, message };
  const name = (FIELD as Record<string, string>)[field];
  if (!name) return { field, message };
  return { field: name, message: message.startsWith(`${field}:`) ? `${name}:${message.slice(field.length + 1)}` : message };
}

/** A service or middleware error as SendGrid's API answers it. */
export function fromServiceError(err: ServiceError): SendGridError {
  const code = err.items[0]?.code ?? "internal_error";
  if (code === "not_found" && err.items[0]?.field === "id") return invalidId();
  const items = err.items.map((i) =>
    i.code === "required" && i.field === "auth_request_details"
      ? {
          field: "oauth_client_secret",
          message: "oauth_client_secret: send it again (or empty oauth_* values to turn OAuth off) when url moves to another origin",
        }
      : renamed(i.field, i.message),
  );
  return new SendGridError(statusOf(code), items, err instanceof ApiError ? err.headers : {});
}

/** zod's issues in SendGrid's envelope (hookd's wording: the field, what was expected, what came). */
export function fromZodError(error: z.ZodError, input: unknown): SendGridError {
  return new SendGridError(
    400,
    listedErrors(zodErrors(error, input)).map((i) => ({ field: i.field ?? null, message: i.message })),
  );
}

export function sendGridErrorResponse(c: Context, err: SendGridError) {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json({ errors: err.items }, err.status);
}
