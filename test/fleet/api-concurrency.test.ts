// Many API requests at once on a fresh node, its pool's statements not prepared yet: each is
// answered promptly, with its own rows. (Bun 1.3.14 pipelined them onto busy connections and,
// mixing prepared and new statements, left queries pending forever or answered one query
// with another's rows: src/store/postgres/pool-gate.ts.)
import { expect, test } from "bun:test";
import { makeEvents } from "../helpers/delivery.ts";
import { usePostgres } from "../helpers/pg.ts";
import { createWebhook, resultsOf, useFleet } from "./harness.ts";

const pg = usePostgres();
const fleet = useFleet();

const ROUNDS = 5;
const AT_ONCE = 24;
/** An answer slower than this counts as hanging (an idle node answers these in milliseconds). */
const PROMPT_MS = 5_000;

type Answer = { what: string; status: number | string; ms: number; problem?: string };

test(`${AT_ONCE} API requests at once, ${ROUNDS} times, on a fresh node: every one answered promptly with its own rows`, async () => {
  const { url } = await pg.database({ migrated: true });
  const rx = await fleet.receiver();
  const f = await fleet.start(url, ["A"]);
  const a = f.node("A");
  const { id } = await createWebhook(a, `${rx.url}/in`);
  await resultsOf(a.api("POST", "/events", makeEvents(30, "seed")));

  // Each request and what its answer must hold.
  const kinds: [string, () => Promise<Response>, (body: { results: unknown }) => string | undefined][] = [
    ["GET /status", () => a.api("GET", "/status"), (b) => ((b.results as { node?: string }).node === "A" ? undefined : "not node A")],
    [
      "GET /webhooks",
      () => a.api("GET", "/webhooks"),
      (b) => ((b.results as { id: string }[]).some((w) => w.id === id) ? undefined : "webhook missing"),
    ],
    [
      "GET /webhooks/:id",
      () => a.api("GET", `/webhooks/${id}`),
      (b) => ((b.results as { id?: string }).id === id ? undefined : "another webhook"),
    ],
    ["GET batch-status", () => a.api("GET", `/webhooks/${id}/batch-status`), (b) => (Array.isArray(b.results) ? undefined : "not a list")],
    [
      "GET /events?rcpt_to",
      () => a.api("GET", "/events?rcpt_to=user1@example.org"),
      (b) => ((b.results as { rcpt_to?: string }[]).every((e) => e.rcpt_to === "user1@example.org") ? undefined : "other recipients"),
    ],
    [
      "GET /events?type",
      () => a.api("GET", "/events?type=delivery&limit=5"),
      (b) => ((b.results as { type?: string }[]).every((e) => e.type === "delivery") ? undefined : "other types"),
    ],
  ];
  const answers: Answer[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const calls = Array.from({ length: AT_ONCE }, async (_, i): Promise<Answer> => {
      const started = Date.now();
      const post = i % 7 === 6;
      const [what, call, check] = post
        ? ["POST /events", () => a.api("POST", "/events", makeEvents(3, `r${round}-${i}`)), () => undefined]
        : kinds[(i + round) % kinds.length]!;
      try {
        const res = await call();
        const text = await res.text();
        const problem = res.status === 200 ? check(JSON.parse(text) as { results: unknown }) : text.slice(0, 200);
        return { what, status: res.status, ms: Date.now() - started, problem };
      } catch (err) {
        return { what, status: `failed: ${(err as Error).message}`, ms: Date.now() - started };
      }
    });
    answers.push(...(await Promise.all(calls)));
  }
  expect(answers.length).toBe(ROUNDS * AT_ONCE);
  expect(answers.filter((x) => x.status !== 200 || x.problem !== undefined || x.ms > PROMPT_MS)).toEqual([]);
  expect(a.running()).toBe(true);
}, 120_000);
