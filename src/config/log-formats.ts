// The log formats a source (and `hookd parse --format`) reads, apart from the config schema so
// that `hookd parse` checks its flag without loading zod and every schema (~70 ms at start).
export const LOG_FORMATS = ["postfix", "exim", "jsonl", "auto"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
