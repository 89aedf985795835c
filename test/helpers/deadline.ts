// The one deadline for test helpers: a wait that must end, a process to kill if it does not
// exit in time, a scripted delay that a shutdown cuts short. Everything that bounds a wait on
// something else goes through here, so a stuck test fails instead of hanging.

/** `promise`, or `fallback` once `ms` have passed (the timer is cleared either way). */
export async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
