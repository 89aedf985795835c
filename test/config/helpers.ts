import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, type ConfigIssue } from "../../src/config/errors.ts";

/** A fresh directory per test, so lookup tests never see each other's hookd.toml. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "hookd-config-"));
}

export function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** Runs fn, which must throw a ConfigError, and returns its issues. */
export function configIssues(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

/** The rendered lines of the ConfigError fn throws. */
export function configErrorLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split("\n");
    throw err;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}
