// hookd end to end on a REAL Exim (test/e2e/mta/exim.ts: the unpacked exim4 as a foreground
// daemon on 127.0.0.1 with a private config, manualroute to our SMTP sink or a closed port,
// local.test with aliases only; nothing leaves the machine). hookd tails Exim's mainlog
// (format "exim") from the beginning and delivers to a real receiver; each scenario
// (delivered, remote 550 and unrouteable local user bounces, 451 and connection-refused
// delays, policy rejection, three recipients with mixed outcomes, an alias, a retry timeout)
// must yield exactly its events. The suite is shared with Postfix: hookd-run.ts.
import { startExim } from "./exim.ts";
import { hookdMtaSuite } from "./hookd-run.ts";

hookdMtaSuite("exim", () => startExim());
