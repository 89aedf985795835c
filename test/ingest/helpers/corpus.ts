import type { LogFormat } from "../../../src/ingest/parse/index.ts";
import { readFileSync } from "node:fs";
import path from "node:path";

/** The shared corpus lives beside the repository (CI clones it the same way). */
export const CORPUS_DIR = path.resolve(import.meta.dir, "../../../../shared/corpus");

/** The corpus files that hold whole log lines, and the format each is read as. */
export const FULL_LINE_FILES: Record<string, LogFormat> = {
  "postfix-exporter.log": "postfix",
  "fail2ban-postfix.log": "postfix",
  "issues-quoted.log": "auto",
  "mailroute-article-flow.log": "postfix",
  "exim-test.log": "exim",
  "exim-test-old-ids.log": "exim",
  "fail2ban-exim.log": "exim",
};

/** A reference "now" for syslog lines without a year: 2026-11-24 12:00 local time. */
export const NOW = new Date(2026, 10, 24, 12, 0, 0).getTime();

/** The log lines of a corpus file: without the collector's "#" comments and blank lines. */
export function corpusLines(file: string): string[] {
  return readFileSync(path.join(CORPUS_DIR, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));
}

/**
 * Exim test logs are many small logs one after another, and their ids repeat from log to
 * log: split at the "# ..." headers so each part gets a fresh parser.
 */
export function corpusSections(file: string): string[][] {
  const parts: string[][] = [[]];
  for (const l of readFileSync(path.join(CORPUS_DIR, file), "utf8").split("\n")) {
    if (l.startsWith("#")) {
      if ((parts.at(-1) ?? []).length > 0) parts.push([]);
    } else if (l.trim() !== "") parts.at(-1)?.push(l);
  }
  return parts.filter((p) => p.length > 0);
}

// logwatch's service codes (see the header of logwatch-postfix-TD.log).
const LOGWATCH_SERVICE: Record<string, string> = {
  s: "smtp",
  sd: "smtpd",
  c: "cleanup",
  q: "qmgr",
  b: "bounce",
  l: "local",
  v: "virtual",
  p: "pickup",
  pp: "pipe",
  ps: "postsuper",
  m: "master",
  pg: "postgrey",
  spf: "policy-spf",
  pfw: "policyd-weight",
};

export const FAKE_QID = "ABCDE12345";

/**
 * logwatch-postfix-TD.log: "<script line>\t<service code><flags> <message>", prefix stripped;
 * flag Q means the queue id was stripped too. Rebuilt as a syslog line of a made-up host.
 */
export function logwatchLines(): { source: string; line: string }[] {
  return corpusLines("logwatch-postfix-TD.log").map((source) => {
    const body = source.slice(source.indexOf("\t") + 1);
    const m = /^([a-z]*)(Q|N)?(?:\(\d+\))?(\d*)[: ]?\s?(.*)$/.exec(body);
    const code = m?.[1] ?? "";
    const msg = m?.[4] ?? body;
    const service = LOGWATCH_SERVICE[code] ?? "smtp";
    // Policy servers log under their own names, not postfix/.
    const prog = ["postgrey", "policy-spf", "policyd-weight"].includes(service) ? service : `postfix/${service}`;
    const qid = m?.[2] === "Q" ? `${FAKE_QID}: ` : m?.[2] === "N" ? "NOQUEUE: " : "";
    return { source, line: `Nov 23 13:07:09 mx ${prog}[100]: ${qid}${msg}` };
  });
}

/** whyscream-postfix-grok-messages.log: "<yaml>\t<pattern>\t<message>", program from the yaml name. */
export function whyscreamLines(): { source: string; line: string }[] {
  return corpusLines("whyscream-postfix-grok-messages.log").map((source) => {
    const [yaml = "", , message = ""] = source.split("\t");
    const service = yaml
      .replace(/_\d+\.yaml$/, "")
      .replace(/_/g, "-")
      .replace(/^tls-features$/, "smtp");
    return { source, line: `Nov 23 13:07:09 mx postfix/${service}[100]: ${message}` };
  });
}

/** Lines of `file` containing every one of `needles` (a test names the corpus line it checks). */
export function findLines(file: string, ...needles: string[]): string[] {
  return corpusLines(file).filter((l) => needles.every((n) => l.includes(n)));
}
