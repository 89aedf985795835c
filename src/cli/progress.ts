// A one-line progress bar on stderr when it is a terminal; silent otherwise, so logs and
// pipes get only the final summary.

export function progressBar(opts: { total: number; write: (s: string) => void; enabled: boolean; label: string }) {
  let last = 0;
  const started = Date.now();
  const render = (done: number) => {
    const frac = opts.total > 0 ? Math.min(1, done / opts.total) : 1;
    const width = 30;
    const filled = Math.round(frac * width);
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? `${mb(done / secs)} MB/s` : "";
    opts.write(
      `\r${opts.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.round(frac * 100)}% ${mb(done)}/${mb(opts.total)} MB ${rate}  `,
    );
  };
  return {
    update(done: number) {
      if (!opts.enabled) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      render(done);
    },
    done() {
      if (!opts.enabled) return;
      render(opts.total);
      opts.write("\n");
    },
  };
}
