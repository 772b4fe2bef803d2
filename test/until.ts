/**
 * Polls until `check` returns a value (anything but false, null or undefined): tests wait on a condition, never on
 * a guessed time. Fails naming `what` after `timeoutMs`.
 */
export async function until<T>(check: () => Promise<T | false | null | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false && value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
