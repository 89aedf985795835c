// DKIM after hookd, with a REAL OpenDKIM (Debian's /usr/sbin/opendkim, our own instance: a key
// made by opendkim-genkey, a KeyTable and SigningTable for the sender's domain) in a REAL
// Postfix: smtpd_milters lists hookd first, then OpenDKIM, so OpenDKIM signs the message hookd
// tracked. The message at the sink verifies (mailauth, with a resolver that answers the
// selector's TXT record from opendkim-genkey's output — no DNS), and its signature's h= covers
// List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 §4), oversigned, as README's
// opendkim.conf lines say.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Subprocess } from "bun";
import { dkimVerify } from "mailauth/lib/dkim/verify";
import { startPostfix, type PostfixHarness } from "../mta/postfix.ts";
import { submitSmtp } from "../mta/smtp-client.ts";
import { freePort, makeTempDir, newMessageId, passwdId, removeDir, requireFiles, run, waitForPort } from "../mta/common.ts";
import { newsletter, startHookdForMail, type HookdForMail } from "./hookd-mail.ts";

const OPENDKIM = "/usr/sbin/opendkim";
const DOMAIN = "sender.hookd.test";
const SELECTOR = "hookd";

let dir = "";
let dkim: Subprocess | null = null;
let pf: PostfixHarness | null = null;
let hk: HookdForMail | null = null;
let txt = "";
let startError: unknown = null;

/** The TXT record opendkim-genkey wrote: its quoted strings joined. */
function txtRecord(file: string): string {
  return [...readFileSync(file, "utf8").matchAll(/"([^"]*)"/g)].map((m) => m[1]).join("");
}

async function startOpenDkim(): Promise<number> {
  requireFiles([
    { path: OPENDKIM, what: "OpenDKIM (opendkim)", pkg: "opendkim" },
    { path: "/usr/sbin/opendkim-genkey", what: "opendkim-genkey", pkg: "opendkim-tools" },
  ]);
  dir = makeTempDir("hookd-opendkim-");
  chmodSync(dir, 0o755); // opendkim reads the key after dropping to its own user
  await run(["/usr/sbin/opendkim-genkey", "-b", "2048", "-D", dir, "-d", DOMAIN, "-s", SELECTOR]);
  const key = path.join(dir, `${SELECTOR}.private`);
  const od = passwdId("opendkim");
  chownSync(key, od.uid, od.gid);
  chmodSync(key, 0o600);
  txt = txtRecord(path.join(dir, `${SELECTOR}.txt`));
  const port = freePort();
  writeFileSync(path.join(dir, "key.table"), `${SELECTOR}._domainkey.${DOMAIN} ${DOMAIN}:${SELECTOR}:${key}\n`);
  writeFileSync(path.join(dir, "signing.table"), `*@${DOMAIN} ${SELECTOR}._domainkey.${DOMAIN}\n`);
  writeFileSync(
    path.join(dir, "opendkim.conf"),
    [
      "Syslog no",
      "Mode s",
      `Socket inet:${port}@127.0.0.1`,
      `PidFile ${path.join(dir, "opendkim.pid")}`,
      "UserID opendkim",
      // The key sits under /tmp, which everyone may write to: OpenDKIM refuses such a path
      // unless told to (a real key lives in /etc/opendkim/keys).
      "RequireSafeKeys false",
      `KeyTable file:${path.join(dir, "key.table")}`,
      `SigningTable refile:${path.join(dir, "signing.table")}`,
      "InternalHosts 127.0.0.1",
      "Canonicalization relaxed/relaxed",
      // README, "Tracking in the mail path": what RFC 8058 needs from the signature.
      "SignHeaders *,+List-Unsubscribe,+List-Unsubscribe-Post",
      "OversignHeaders From,List-Unsubscribe,List-Unsubscribe-Post",
      "",
    ].join("\n"),
  );
  dkim = Bun.spawn([OPENDKIM, "-f", "-x", path.join(dir, "opendkim.conf")], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  await Promise.race([
    waitForPort(port, 10_000, "opendkim"),
    dkim.exited.then(async (code) => {
      throw new Error(`opendkim exited with ${code}: ${await new Response(dkim!.stderr as ReadableStream).text()}`);
    }),
  ]);
  return port;
}

beforeAll(async () => {
  try {
    const dkimPort = await startOpenDkim();
    pf = await startPostfix({ mainCf: ["milter_protocol = 6", "milter_default_action = accept"] });
    hk = await startHookdForMail({ logPath: pf.logPath, format: "postfix", milter: "127.0.0.1:0" });
    // The order the README gives: hookd first, the signer after it.
    await pf.postconf({ smtpd_milters: `inet:${hk.milter}, inet:127.0.0.1:${dkimPort}`, non_smtpd_milters: "$smtpd_milters" });
  } catch (err) {
    startError = err;
  }
}, 60_000);

afterAll(async () => {
  await hk?.stop();
  await pf?.stop();
  if (dkim && dkim.exitCode === null) {
    dkim.kill("SIGTERM");
    await Promise.race([dkim.exited, Bun.sleep(5_000)]);
    if (dkim.exitCode === null) dkim.kill("SIGKILL");
  }
  if (dir) removeDir(dir);
}, 30_000);

const resolver = async (name: string, rr: string) => {
  if (rr === "TXT" && name.toLowerCase() === `${SELECTOR}._domainkey.${DOMAIN}`) return [[txt]];
  throw Object.assign(new Error(`no ${rr} record for ${name} in this test`), { code: "ENOTFOUND" });
};

describe("OpenDKIM signing after hookd in a real Postfix", () => {
  test("the tracked message's signature verifies at the receiving end, and h= covers List-Unsubscribe and List-Unsubscribe-Post", async () => {
    if (startError) throw startError;
    const messageId = newMessageId("dkim-pf");
    const sent = newsletter({ messageId, to: "ok-dkim@sink.test", headers: ["X-Hookd-Track: opens, clicks, unsubscribe"] });
    const r = await submitSmtp({
      port: pf!.smtpPort,
      from: `news@${DOMAIN}`,
      to: ["ok-dkim@sink.test"],
      message: sent.raw,
      timeoutMs: 20_000,
    });
    expect(r.data?.code).toBe(250);
    await pf!.sink.waitFor((ms) => ms.some((m) => m.messageId === messageId), 20_000);
    const data = pf!.sink.messages.find((m) => m.messageId === messageId)!.data;

    // Tracked by hookd (before the signature was made)…
    expect(data).toMatch(/^List-Unsubscribe: <https:\/\/t\.hookd\.test\/u\//m);
    expect(data.replace(/=\r\n/g, "")).toContain("https://t.hookd.test/c/"); // in quoted-printable
    // …and signed by OpenDKIM over what hookd made.
    const result = await dkimVerify(Buffer.from(data, "latin1"), { resolver, curTime: new Date() });
    const sig = result.results[0]!;
    expect({ result: sig.status.result, domain: sig.signingDomain, selector: sig.selector }).toEqual({
      result: "pass",
      domain: DOMAIN,
      selector: SELECTOR,
    });
    const h = /^DKIM-Signature:[\s\S]*?\bh=([^;]+);/m.exec(data)![1]!.replace(/\s+/g, "").toLowerCase().split(":");
    // Oversigned: listed once more than present, so nobody can add a second one later.
    expect(h.filter((x) => x === "list-unsubscribe").length).toBe(2);
    expect(h.filter((x) => x === "list-unsubscribe-post").length).toBe(2);
    expect(h).toContain("from");

    // A change after signing — a List-Unsubscribe added on the way — no longer verifies.
    const tampered = data.replace(/\r\n\r\n/, "\r\nList-Unsubscribe: <mailto:evil@example.net>\r\n\r\n");
    expect((await dkimVerify(Buffer.from(tampered, "latin1"), { resolver })).results[0]!.status.result).not.toBe("pass");
  }, 60_000);
});
