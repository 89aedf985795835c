// A certificate authority of the test's own, made with openssl at test time, and server
// certificates it signs for given DNS names: HTTPS receivers on 127.0.0.1 that a client
// verifies for a name, the way it verifies a real receiver's.
import fs from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/hookd.ts";

export type ServerCert = { cert: string; key: string };
export type TestCa = { ca: string; issue(...dnsNames: string[]): ServerCert };

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString().trim()}`);
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export function createTestCa(): TestCa {
  const dir = tempDir();
  openssl(["req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=hookd test CA"], dir);
  const read = (name: string) => fs.readFileSync(path.join(dir, name), "utf8");
  let serial = 0;
  return {
    ca: read("ca.pem"),
    issue(...dnsNames) {
      const n = `leaf${++serial}`;
      fs.writeFileSync(path.join(dir, `${n}.ext`), `subjectAltName=${dnsNames.map((d) => `DNS:${d}`).join(",")}\n`);
      openssl(["req", ...EC_KEY, "-keyout", `${n}.key`, "-out", `${n}.csr`, "-subj", `/CN=${dnsNames[0]}`], dir);
      openssl(
        [
          "x509",
          "-req",
          "-in",
          `${n}.csr`,
          "-CA",
          "ca.pem",
          "-CAkey",
          "ca.key",
          "-set_serial",
          String(serial + 1),
          "-out",
          `${n}.pem`,
          "-days",
          "2",
          "-extfile",
          `${n}.ext`,
        ],
        dir,
      );
      return { cert: read(`${n}.pem`), key: read(`${n}.key`) };
    },
  };
}
