import { z } from "zod";
import { EVENT_TYPES } from "../../events/schema.ts";
import { Rfc3339 as Time } from "../routes/common.ts";

// Bodies and answers of what an operator does to a webhook besides editing it.

export const ValidateBody = z
  .strictObject({
    message: z
      .union([z.array(z.record(z.string(), z.unknown())), z.record(z.string(), z.unknown())])
      .optional()
      .meta({ description: "Body to send instead of a sample batch (SparkPost's validate)." }),
  })
  .meta({ id: "ValidateRequest" });

export const ValidateResult = z.object({
  msg: z.string(),
  response: z.object({ status: z.number().nullable(), headers: z.record(z.string(), z.string()), body: z.string() }),
  latency_ms: z.number(),
  failure_code: z.string().nullable(),
});
export type ValidateResult = z.infer<typeof ValidateResult>;

export const ValidateAllResult = z
  .array(ValidateResult.extend({ id: z.string(), name: z.string() }))
  .meta({ id: "ValidateAllResults", description: "One result per webhook, newest webhook first." });

export const BatchStatusQuery = z.strictObject({
  limit: z.coerce.number({ error: "expected an integer from 1 to 1000" }).int().min(1).max(1000).default(100),
  state: z.enum(["pending", "delivered", "dead"]).optional(),
});

export const BatchStatus = z.object({
  batch_id: z.string(),
  ts: z.string().meta({ description: "Last attempt, or creation when not yet attempted." }),
  attempts: z.number(),
  response_code: z.string().nullable().meta({ description: "HTTP status of the last attempt, as SparkPost gives it (a string)." }),
  failure_code: z.string().nullable(),
  state: z.enum(["pending", "delivered", "dead"]),
  kind: z.enum(["live", "replay"]),
  events: z.number(),
  bytes: z.number(),
  next_attempt: z.string().nullable(),
});
export type BatchStatus = z.infer<typeof BatchStatus>;

export const RetryBody = z
  .strictObject({ batch_ids: z.array(z.string().min(1).max(64)).min(1).max(1000).optional() })
  .meta({ id: "RetryRequest" });

export const ReplayBody = z
  .strictObject({
    since: Time,
    until: Time.optional(),
    events: z
      .array(z.enum(EVENT_TYPES))
      .min(1)
      .optional()
      .meta({ description: "Only these types (default: what the webhook subscribes to)." }),
  })
  .meta({ id: "ReplayRequest" });

export const RotatedSecret = z.object({ secret: z.string(), previous_secret_expires: z.string() });
export const SigningKey = z.object({
  public_key: z.string().meta({ description: "Base64 DER SubjectPublicKeyInfo, as SendGrid shows it." }),
});
