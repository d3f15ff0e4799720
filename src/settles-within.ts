// Shutdown must not wait on Redis: every step that talks to it gets a deadline, after which the
// process closes its connections without a goodbye (nothing acknowledged lives only in memory).

/** Waits for `work` at most `ms`; true when it settled (resolved or rejected) in time. Never rejects. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  const settled = work.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
