export const HELP = `hookd — email events from your own MTA, pushed to your webhooks

Usage:
  hookd [serve] [--config PATH]        run: serve the API and admin page, deliver events
  hookd check-config [--config PATH]   validate the config; exit 0 and a summary, or 2 and every error
  hookd parse [--format F] FILE...     print the events found in log files, one JSON object a line
                                       ('-' = standard input; .gz read as gzip); summary on stderr
  hookd backfill [--format F] FILE... [--config PATH]
                                       store the events of old log files once (safe to re-run)
  hookd feedback [SENDER RECIPIENT...] [--sender S --recipient R] [--config PATH]
                                       one bounce, complaint or unsubscribe mail on stdin (a pipe
                                       transport; no envelope given: $SENDER, $RECIPIENT as Exim sets
                                       them): exit 0 once its events are stored, or when it is no
                                       report or too large; 75 (EX_TEMPFAIL) when it cannot be stored
  hookd apikey create --name N --scopes S[,S] [--config PATH]
                                       create an API key and print it once
  hookd apikey list [--config PATH]    list API keys (never the keys themselves)
  hookd apikey revoke ID [--config PATH]
  hookd tracking keys [--config PATH]  the keys that sign tracked links (ids and retirement, never the keys)
  hookd tracking rotate-key [--config PATH]
                                       sign new links with a new key; the old one verifies for
                                       tracking.key_verify_for more
  hookd rewrite --rcpt ADDR [--queue-id ID] [--log FILE] [--config PATH]
                                       one message on stdin, the tracked message on stdout (Exim's
                                       transport_filter); on any failure the message unchanged, exit 0,
                                       and why on stderr (unless it is stdout) and in --log FILE
  hookd version | --version | --help

Formats: postfix, exim, jsonl (journalctl -o json), auto (default for parse and backfill)
Scopes: webhooks:read, webhooks:write, events:read, events:write
Config: --config, then $HOOKD_CONFIG, then ./hookd.toml, then /etc/hookd/hookd.toml, else
built-in defaults. HOOKD_<SECTION>_<KEY> overrides one key (e.g. HOOKD_SERVER_LISTEN).
Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
`;
