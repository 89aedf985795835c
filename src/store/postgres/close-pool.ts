import type { SQL } from "bun";

/**
 * Closes a pool, waiting at most `boundMs`: Bun 1.3.14's close() can wait forever on a pool
 * whose server went away or never answered. Never throws.
 */
export async function closePool(sql: SQL, boundMs = 2_000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    sql.close({ timeout: 1 }).catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, boundMs);
    }),
  ]);
  clearTimeout(timer);
}
