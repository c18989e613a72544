/** Polls `probe` until it returns something truthy, or fails naming what it waited for. */
export async function until<T>(probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, withinMs: number, what: string, everyMs = 25): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
