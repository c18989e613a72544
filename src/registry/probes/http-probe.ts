/** One HTTP GET against a health check's URL: pass when the status is the expected one. */
export interface ProbeTarget {
  url: string;
  timeoutMs: number;
  expectStatus: number;
}

export interface ProbeOutcome {
  passed: boolean;
  /** Time to the response headers, or until the failure. */
  latencyMs: number;
  statusCode: number | null;
  message: string;
}

export async function probeHttp(target: ProbeTarget): Promise<ProbeOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(target.url, {
      signal: AbortSignal.timeout(target.timeoutMs),
      redirect: 'manual',
      headers: { 'user-agent': 'service-registry-probe' },
    });
    const latencyMs = elapsed();
    // The body is not needed; dropping it frees the connection for keep-alive.
    await response.body?.cancel().catch(() => {});
    const passed = response.status === target.expectStatus;
    return {
      passed,
      latencyMs,
      statusCode: response.status,
      message: passed ? `HTTP ${response.status}` : `expected HTTP ${target.expectStatus}, got ${response.status}`,
    };
  } catch (error) {
    const latencyMs = elapsed();
    const name = (error as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { passed: false, latencyMs, statusCode: null, message: `no response within ${target.timeoutMs} ms` };
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    return { passed: false, latencyMs, statusCode: null, message: `request failed: ${detail}` };
  }
}

/** Runs `work` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
