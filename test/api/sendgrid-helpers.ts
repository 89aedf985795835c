// Shared by the sendgrid-*.test.ts files: SendGrid's OpenAPI document (the contract hookd's
// /v3 paths implement) turned into JSON-Schema checks, and a SendGrid-shaped fetch.
import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import { REPO_ROOT, type TestApp } from "../helpers/hookd.ts";

export const CONTRACT_PATH = `${REPO_ROOT}/test/fixtures/sendgrid/tsg_webhooks_v3.json`;

type Schema = Record<string, unknown>;
type Operation = {
  requestBody?: { content: Record<string, { schema: Schema; examples?: Record<string, { value: Record<string, unknown> }> }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }>; $ref?: string }>;
};
export type Contract = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, { content: Record<string, { schema: Schema }> }> };
};

export const contract: Contract = JSON.parse(readFileSync(CONTRACT_PATH, "utf8"));

// OpenAPI 3.1 schemas are JSON Schema 2020-12 plus `nullable` (which ajv knows) and
// `example` (an annotation). $refs point at #/components/schemas/…: they become $defs.
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addVocabulary(["example"]);
ajv.addFormat(
  "date-time",
  (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
);

/** The schema with refs into $defs and, when `closed`, every object closed to the properties it lists. */
function prepared(schema: unknown, closed: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => prepared(s, closed));
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$ref" && typeof v === "string") out[k] = v.replace("#/components/schemas/", "#/$defs/");
    else if (k === "properties" && v && typeof v === "object")
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, prepared(s, closed)]));
    else out[k] = prepared(v, closed);
  }
  if (closed && (schema as Schema).type === "object" && (schema as Schema).properties) out.additionalProperties = false;
  return out;
}

const cache = new Map<string, ValidateFunction>();
function validator(schema: Schema, closed: boolean): ValidateFunction {
  const key = JSON.stringify([schema, closed]);
  let v = cache.get(key);
  if (!v) {
    const defs = Object.fromEntries(Object.entries(contract.components.schemas).map(([n, s]) => [n, prepared(s, closed)]));
    v = ajv.compile({ ...(prepared(schema, closed) as Schema), $defs: defs });
    cache.set(key, v);
  }
  return v;
}

/**
 * Asserts that `res` is an answer the document lists for `method path` (its template, such
 * as /v3/user/webhooks/event/settings/{id}): the status is one of the operation's, and the
 * body validates against that response's schema. Success bodies are also held to the
 * properties the schema lists (closed objects), so hookd sends nothing SendGrid does not.
 * 401 and 403 are the document's Webhook401/403 (ErrorResponse). Returns the parsed body.
 */
export async function expectContract(res: Response, method: string, path: string): Promise<unknown> {
  const op = contract.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`the document has no ${method} ${path}`);
  const text = await res.text();
  const shared = { 401: "Webhook401", 403: "Webhook403" } as Record<number, string>;
  const listed = op.responses[String(res.status)];
  // A response may itself be a $ref to #/components/responses/….
  const documented = listed?.$ref ? contract.components.responses[listed.$ref.replace("#/components/responses/", "")] : listed;
  const schema = documented
    ? documented.content?.["application/json"]?.schema
    : shared[res.status]
      ? contract.components.responses[shared[res.status]!]!.content["application/json"]!.schema
      : undefined;
  if (!documented && !shared[res.status])
    throw new Error(
      `${method} ${path}: HTTP ${res.status} is not a documented answer (${Object.keys(op.responses).join(", ")}): ${text.slice(0, 300)}`,
    );
  if (!schema) {
    expect(text).toBe("");
    return null;
  }
  const body = JSON.parse(text);
  const v = validator(schema, res.status < 300);
  if (!v(body))
    throw new Error(
      `${method} ${path} ${res.status}: body does not match the document: ${ajv.errorsText(v.errors)}\n${text.slice(0, 500)}`,
    );
  return body;
}

/** A request example from the document, by operation and name. */
export function requestExample(path: string, method: string, name: string): Record<string, unknown> {
  const ex = contract.paths[path]![method]!.requestBody!.content["application/json"]!.examples![name];
  if (!ex) throw new Error(`no example "${name}" for ${method} ${path}`);
  return structuredClone(ex.value);
}

/** fetch against hookd's /v3 paths as SendGrid's clients call them. */
export function sg(
  app: Pick<TestApp, "url" | "key">,
  method: string,
  path: string,
  body?: unknown,
  key: string | null = app.key,
): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${app.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
}

export type SendGridErrors = { errors: { field: string | null; message: string; id?: string; url?: string }[] };

/** The body of a SendGrid error answer: {"errors":[{"field","message"}]}, nothing of hookd's envelope (no `code`). */
export async function sendGridErrors(res: Response, status: number): Promise<SendGridErrors> {
  const text = await res.text();
  expect(`${res.status} ${text}`).toStartWith(`${status} `);
  const body = JSON.parse(text) as SendGridErrors;
  expect(Array.isArray(body.errors) && body.errors.length > 0).toBe(true);
  for (const e of body.errors) {
    expect(typeof e.message).toBe("string");
    expect(e.field === null || typeof e.field === "string").toBe(true);
    expect(Object.keys(e).every((k) => ["field", "message", "id", "url"].includes(k))).toBe(true);
  }
  return body;
}
