import { describe, expect, test } from "bun:test";
import path from "node:path";
import { openStore } from "../../src/store/open.ts";
import { ensureKeyring, keyringSource, keyViews, KeyringError, rotateStoredKeyring } from "../../src/track/keystore.ts";
import { tempDir } from "../helpers/hookd.ts";
import { sqliteOf } from "../../src/store/sqlite/driver.ts";

// The keyring in a real SQLite file, shared by two connections as the API and the listener's
// writer share it.

function stores() {
  const file = path.join(tempDir(), "hookd.db");
  return [openStore(file), openStore(file)] as const;
}

describe("the stored keyring", () => {
  test("made once on first start; a rotation is seen by another connection's reader after its check interval", async () => {
    const [a, b] = stores();
    const ring = await ensureKeyring(a);
    expect(await ensureKeyring(b)).toEqual(ring);
    let now = 1_000_000;
    const reader = keyringSource(b, { checkEveryMs: 1000, now: () => now });
    expect((await reader.get()).currentId).toBe(0);
    await rotateStoredKeyring(a, 90 * 86_400_000, Date.parse("2026-01-01T00:00:00Z"));
    now += 999;
    expect((await reader.get()).currentId).toBe(0); // not looked at yet
    now += 1;
    const seen = await reader.get();
    expect(seen.currentId).toBe(1);
    expect(keyViews(seen)).toEqual([
      { id: 1, current: true, retires_at: null },
      { id: 0, current: false, retires_at: "2026-04-01T00:00:00.000Z" },
    ]);
    await a.close();
    await b.close();
  });

  test("256 rotations within key_verify_for: refused, naming why", async () => {
    const [a] = stores();
    await ensureKeyring(a);
    for (let i = 0; i < 255; i++) await rotateStoredKeyring(a, 86_400_000, 1_000_000);
    await expect(rotateStoredKeyring(a, 86_400_000, 1_000_000)).rejects.toThrow(KeyringError);
    // Once the old keys have retired, their ids are free again.
    expect((await rotateStoredKeyring(a, 86_400_000, 1_000_000 + 2 * 86_400_000)).keys.length).toBe(2);
    await a.close();
  });

  test("a damaged stored ring is an error naming the field, never showing a key", async () => {
    const [a] = stores();
    const ring = await ensureKeyring(a);
    const secret = Buffer.from(ring.keys[0]!.secret).toString("base64url");
    sqliteOf(a).run("UPDATE tracking_keyring SET ring = ?, version = version + 1", [
      JSON.stringify({ current_id: 0, keys: [{ id: 0, secret: `${secret.slice(0, 40)}` }] }),
    ]);
    let message = "";
    try {
      await keyringSource(a).get();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toStartWith("the stored tracking keyring is not valid (keys.0.secret: expected 32 bytes in base64url");
    expect(message).not.toContain(secret.slice(0, 40));
    await a.close();
  });
});
