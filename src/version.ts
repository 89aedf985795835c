import pkg from "../package.json" with { type: "json" };

// Read at build time from package.json, so the binary, User-Agent and /healthz agree.
export const VERSION: string = pkg.version;
