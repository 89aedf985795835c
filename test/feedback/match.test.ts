import { describe, expect, test } from "bun:test";
import { matchReport, originalFor } from "../../src/feedback/match.ts";
import { tokenAddresses, unsubscribeAddress, verpAddress } from "../../src/feedback/unsubscribe.ts";
import { BOUNCE, MemoryLookup, expectKind, parse } from "./helpers.ts";

const VERP = (token: string) => ({ mailFrom: "", rcptTo: [verpAddress(token, "bounces.example.com")] });

describe("addresses with tokens", () => {
  test("bounces+<token>@ and unsubscribe+<token>@ are built and read back alike", () => {
    expect(verpAddress("AbC-12_x.y", "bounces.example.com")).toBe("bounces+AbC-12_x.y@bounces.example.com");
    expect(tokenAddresses([verpAddress("AbC-12_x.y", "bounces.example.com")], "bounces")).toEqual([
      { address: "bounces+AbC-12_x.y@bounces.example.com", token: "AbC-12_x.y" },
    ]);
    expect(tokenAddresses(["<" + unsubscribeAddress("t1", "b.example") + ">"], "unsubscribe")).toEqual([
      { address: "unsubscribe+t1@b.example", token: "t1" },
    ]);
  });

  test("other addresses, empty tokens, characters no token has, and other domains when one is set, are not token addresses", () => {
    expect(
      tokenAddresses(
        ["bounces@b.example", "bounces+@b.example", "bounces+a b@b.example", "bounces+a/b@b.example", "xbounces+t@b.example"],
        "bounces",
      ),
    ).toEqual([]);
    expect(tokenAddresses(["bounces+t@other.example"], "bounces", "b.example")).toEqual([]);
    expect(tokenAddresses(["Bounces+t@B.Example"], "bounces", "b.example")).toEqual([{ address: "Bounces+t@B.Example", token: "t" }]);
  });
});

describe("matching a report to its message", () => {
  const sent = {
    queue_id: "4BCD21C03F2",
    message_id: "44kWHZ2S3Qz1yxHC@rokujo.cr.nyaan.jp",
    rcpt_to: "kijitora@cr.nyaan.jp",
    campaign_id: "spring",
  };

  test("1. a verified VERP token decides; no store lookup is made", async () => {
    const lookup = new MemoryLookup([], new Map([["tok1", sent]]));
    const r = await parse("sisimai/lhost-postfix-57.eml", VERP("tok1"));
    const m = await matchReport(r, lookup);
    expect(m).toEqual({ via: "verp", candidates: [sent], tokenRejected: false, own: false });
    expect(lookup.calls).toEqual(["verp:tok1"]);
  });

  test("a token that does not verify is counted, and matching goes on by Message-ID", async () => {
    const lookup = new MemoryLookup([sent]);
    const m = await matchReport(await parse("sisimai/lhost-postfix-57.eml", VERP("forged")), lookup);
    expect(m).toMatchObject({ via: "message_id", tokenRejected: true, candidates: [sent] });
    expect(lookup.calls).toEqual(["verp:forged", "message_id:44kWHZ2S3Qz1yxHC@rokujo.cr.nyaan.jp"]);
  });

  test("2. by the returned Message-ID; the report's queue id narrows several candidates to its own", async () => {
    const other = { ...sent, queue_id: "0000AAAA", rcpt_to: "someone@example.org" };
    const ours = { ...sent, queue_id: "44kWHZ2S3Qz1yxHC" };
    const m = await matchReport(await parse("sisimai/lhost-postfix-57.eml"), new MemoryLookup([other, ours]));
    expect(m).toMatchObject({ via: "message_id", candidates: [ours] });
    // Without a queue id in common, every candidate stays.
    const wide = await matchReport(
      await parse("sisimai/lhost-postfix-57.eml"),
      new MemoryLookup([other, { ...other, rcpt_to: "b@example.org" }]),
    );
    expect(wide.candidates).toHaveLength(2);
  });

  test("3. by queue id when the Message-ID is unknown: the returned Received header's, with its host", async () => {
    const lookup = new MemoryLookup([{ queue_id: "44kWHZ2S3Qz1yxHC", rcpt_to: "kijitora@cr.nyaan.jp" }]);
    const m = await matchReport(await parse("sisimai/lhost-postfix-57.eml"), lookup);
    expect(m.via).toBe("queue_id");
    expect(lookup.calls).toEqual(["message_id:44kWHZ2S3Qz1yxHC@rokujo.cr.nyaan.jp", "queue_id:44kWHZ2S3Qz1yxHC@rokujo.cr.nyaan.jp"]);
  });

  test("4. none: every lookup asked, nothing found", async () => {
    const lookup = new MemoryLookup();
    const m = await matchReport(await parse("sisimai/rhost-google-06.eml"), lookup);
    expect(m).toEqual({ via: "none", candidates: [], tokenRejected: false, own: false });
    expect(lookup.calls[0]).toBe("message_id:222222EA-20C2-2200-EEEE-2222CEEEEA21@example.jp");
    // Then the queue ids: the returned Received headers', then the DSN's X-Postfix-Queue-ID at its Reporting-MTA.
    expect(lookup.calls.at(-1)).toBe("queue_id:d140gHGZxpzCP4C8@mail1.example.org");
  });

  test("a DSN from one of our own MTAs is marked own (its bounce is in the MTA log)", async () => {
    const r = await parse("sisimai/lhost-postfix-57.eml");
    expect((await matchReport(r, new MemoryLookup(), { isLocalMta: (n) => n === "rokujo.cr.nyaan.jp" })).own).toBe(true);
    expect((await matchReport(r, new MemoryLookup(), { isLocalMta: (n) => n === "mx1.example.com" })).own).toBe(false);
  });

  test("an unsubscribe needs its token: verified → the message, forged → nothing and no store lookup", async () => {
    const env = { mailFrom: "example@icloud.com", rcptTo: [unsubscribeAddress("u1", "bounces.example.com")] };
    const r = expectKind(await parse("sisimai/arf-26.eml", env), "unsubscribe");
    const ok = await matchReport(r, new MemoryLookup([], new Map(), new Map([["u1", sent]])));
    expect(ok).toMatchObject({ via: "unsubscribe_token", candidates: [sent] });
    const lookup = new MemoryLookup([sent]);
    expect(await matchReport(r, lookup)).toMatchObject({ via: "none", tokenRejected: true });
    expect(lookup.calls).toEqual(["unsubscribe:u1"]);
  });

  test("a store that fails makes matching fail (the intake answers 4xx), it is not taken for no match", async () => {
    const lookup = new MemoryLookup();
    lookup.failWith = new Error("database is locked");
    await expect(matchReport(await parse("sisimai/rhost-google-06.eml", BOUNCE), lookup)).rejects.toThrow("database is locked");
  });
});

describe("originalFor: the original message of one recipient", () => {
  const a = { message_id: "m@x", queue_id: "Q1", rcpt_to: "A@example.org" };
  const b = { message_id: "m@x", queue_id: "Q1", rcpt_to: "b@example.org" };

  test("the candidate with the recipient (case-insensitive), else the message without a recipient", () => {
    const m = { via: "message_id" as const, candidates: [a, b], tokenRejected: false, own: false };
    expect(originalFor(m, ["a@example.org"], false)).toBe(a);
    expect(originalFor(m, [undefined, "b@example.org"], false)).toBe(b);
    expect(originalFor(m, ["c@example.org"], false)).toEqual({ message_id: "m@x", queue_id: "Q1" });
  });

  test("a token's message is the recipient's when the report is about one recipient", () => {
    const m = { via: "verp" as const, candidates: [a], tokenRejected: false, own: false };
    expect(originalFor(m, ["final@elsewhere.example"], true)).toBe(a);
    expect(originalFor(m, ["final@elsewhere.example"], false)).toEqual({ message_id: "m@x", queue_id: "Q1" });
  });
});
