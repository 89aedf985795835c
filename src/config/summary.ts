import { nodeName, redactedUrl } from "./storage.ts";
import { formatDuration } from "../lib/units.ts";
import type { Config } from "./schema.ts";

// What `hookd check-config` prints on success: the values hookd will actually run with,
// written back in the units people use, so a wrong override or file is spotted at a glance.

const SIZE_UNITS: [string, number][] = [
  ["GB", 1000 ** 3],
  ["GiB", 1024 ** 3],
  ["MB", 1000 ** 2],
  ["MiB", 1024 ** 2],
  ["KB", 1000],
  ["KiB", 1024],
];

export function formatSize(bytes: number): string {
  for (const [unit, size] of SIZE_UNITS) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes} bytes`;
}

export function summarizeConfig(config: Config, file: string | null): string {
  const { server, storage, sources, delivery, security, log, events, verification, tracking } = config;
  const lines = [
    `config:   ${file ?? "built-in defaults (no config file found)"}`,
    `listen:   ${server.listen} (request bodies up to ${formatSize(server.max_body_size)}, ` +
      `${server.rate_limit === 0 ? "no rate limit" : `${server.rate_limit} requests/s per API key`})`,
    storage.driver === "postgres"
      ? `storage:  PostgreSQL ${redactedUrl(storage.url)} as node ${nodeName(storage)} (retention ${formatDuration(storage.retention)})`
      : `storage:  ${storage.path} (retention ${formatDuration(storage.retention)})`,
    `sources:  ${sources.length === 0 ? "none (nothing is tailed; events arrive only through the API)" : sources.length}`,
    ...sources.map((s) => `  - ${s.path} (format ${s.format}, start at ${s.start_at}, host ${s.host})`),
    `delivery: batches of up to ${delivery.batch_max_events} events or ${formatSize(delivery.batch_max_bytes)}, ` +
      `wait ${formatDuration(delivery.batch_max_wait)}, timeout ${formatDuration(delivery.timeout)}, ` +
      `retry for ${formatDuration(delivery.retry_for)}, ${delivery.max_in_flight} in flight per webhook`,
    `security: private targets ${security.allow_private_targets ? "allowed" : "refused"}`,
    `dns_txt:  checked every ${formatDuration(verification.dns_interval)} with ${verification.dns_servers.length ? verification.dns_servers.join(", ") : "the system resolver"}`,
    `events:   custom types ${events.custom_types.length ? events.custom_types.join(", ") : "none declared"}`,
    `log:      ${log.level}`,
    `tracking: ${trackingSummary(tracking)}`,
  ];
  return lines.join("\n");
}

function trackingSummary(t: Config["tracking"]): string {
  if (!t.listen && !t.base_url) return "off";
  const parts = [t.opens && "opens", t.clicks && "clicks", t.unsubscribe && "unsubscribe"].filter(Boolean).join(", ") || "nothing";
  return (
    `${t.listen ? `listener on ${t.listen}` : "no listener here"}, links ${t.base_url} (${parts}); ` +
    `old keys verify ${formatDuration(t.key_verify_for)} after a rotation; fast clicks ${t.fast_click ? `under ${formatDuration(t.fast_click)}` : "not marked"}; ` +
    `X-Forwarded-For from ${t.trust_proxy.join(", ") || "nobody"}; ${t.rate_limit ? `${t.rate_limit} requests/s per address` : "no rate limit"}`
  );
}
