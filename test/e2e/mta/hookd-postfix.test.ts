// hookd end to end on a REAL Postfix (test/e2e/mta/postfix.ts: a private instance on
// 127.0.0.1, every domain routed by transport_maps to our SMTP sink, a closed port or local
// delivery; nothing leaves the machine). hookd tails the instance's maillog_file (syslog-style
// lines, format "postfix") from the beginning and delivers to a real receiver; each scenario
// (delivered, remote 550 and local unknown user bounces, 451 and connection-refused delays,
// policy rejection, three recipients with mixed outcomes, an alias, an expired message) must
// yield exactly its events. The suite is shared with Exim: hookd-run.ts.
import { startPostfix } from "./postfix.ts";
import { hookdMtaSuite } from "./hookd-run.ts";

hookdMtaSuite("postfix", () => startPostfix());
