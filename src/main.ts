#!/usr/bin/env bun
import { main } from "./cli/main.ts";
import { flushed } from "./cli/stdio.ts";

process.exitCode = await main(process.argv.slice(2));
await flushed();
// serve has closed its server and store by now; nothing else should keep the process alive.
process.exit();
