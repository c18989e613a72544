/**
 * node:http around the app: request ids and logs, body-size guard, liveness and readiness,
 * GraphQL over WebSocket on the same path, and a drain that lets in-flight requests finish on
 * shutdown (subscriptions, which never finish by themselves, are ended at once).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RegistryApp } from './app.js';
import { attachGraphQLWebSocket, type GraphQLWebSocketOptions } from './graphql/ws.js';
import type { Logger } from './infra/logger/logger.js';

export type DependencyState = { status: 'up' } | { status: 'down'; error: string } | { status: 'disabled' };

export interface ReadinessProbe {
  name: string;
  /** Resolves when the dependency answers; rejects with the reason otherwise. */
  check(): Promise<void>;
  /** A dependency that is not configured reports "disabled" and does not block readiness. */
  enabled: boolean;
}

export interface RegistryServer {
  http: Server;
  listen(port: number, host: string): Promise<{ port: number }>;
  /** Stop accepting, let in-flight requests finish within the bound, then cut the rest. */
  drain(timeoutMs: number): Promise<void>;
  readiness(): Promise<{ ready: boolean; checks: Record<string, DependencyState> }>;
}

export interface ServerOptions {
  app: RegistryApp;
  logger: Logger;
  probes: ReadinessProbe[];
  /** Readiness check timeout per dependency. @default 2000 */
  probeTimeoutMs?: number;
  /** GraphQL over WebSocket (graphql-ws) on /graphql; false turns it off. @default {} */
  webSocket?: Pick<GraphQLWebSocketOptions, 'queueLimit' | 'cutAfterMs'> | false;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function createRegistryServer(options: ServerOptions): RegistryServer {
  const { app, logger, probes } = options;
  const probeTimeout = options.probeTimeoutMs ?? 2_000;
  let draining = false;
  /** Open SSE responses: subscriptions do not end by themselves, so the drain ends them. */
  const streams = new Set<ServerResponse>();

  async function readiness() {
    const checks: Record<string, DependencyState> = {};
    await Promise.all(
      probes.map(async (probe) => {
        if (!probe.enabled) {
          checks[probe.name] = { status: 'disabled' };
          return;
        }
        try {
          await withTimeout(probe.check(), probeTimeout);
          checks[probe.name] = { status: 'up' };
        } catch (error) {
          checks[probe.name] = { status: 'down', error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    const ready = !draining && Object.values(checks).every((state) => state.status !== 'down');
    return { ready, checks };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && header.length > 0 && header.length <= 128 ? header : randomUUID();
    const log = logger.child({ reqId: requestId });
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0];
    const quiet = path === '/healthz' || path === '/readyz';
    // The request line is only built when its level is on: at LOG_LEVEL=warn, heartbeat-rate
    // traffic should not pay for a listener per request.
    if (log.isLevelEnabled(quiet ? 'debug' : 'info')) {
      res.on('finish', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const line = { req: { method: req.method, url: req.url, headers: req.headers }, status: res.statusCode, ms: Math.round(ms * 100) / 100 };
        if (quiet) log.debug(line, 'request');
        else log.info(line, 'request');
      });
    }

    if (path === '/healthz') return sendJson(res, 200, { status: 'alive' });
    if (path === '/readyz') {
      const state = await readiness();
      return sendJson(res, state.ready ? 200 : 503, { status: state.ready ? 'ready' : draining ? 'draining' : 'not ready', checks: state.checks });
    }
    if (draining) res.setHeader('connection', 'close');
    if (String(req.headers.accept ?? '').includes('text/event-stream')) {
      streams.add(res);
      res.once('close', () => streams.delete(res));
    }
    await app.handle(req, res, { requestId, logger: log });
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((error) => {
      logger.error({ err: error }, 'request handler failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Unexpected error.' }] });
      else res.destroy();
    });
  });

  const webSocket = options.webSocket === false ? null : attachGraphQLWebSocket(http, { app, logger, ...options.webSocket });

  return {
    http,
    readiness,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const address = http.address();
          resolve({ port: typeof address === 'object' && address ? address.port : port });
        });
      });
    },
    async drain(timeoutMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      // Subscribers reconnect elsewhere (and resume from their last sequence).
      await webSocket?.close().catch((error) => logger.warn({ err: error }, 'closing WebSocket subscribers failed'));
      for (const res of streams) res.end();
      // Keep-alive sockets turn idle as their last response ends; close them as they do.
      http.closeIdleConnections();
      const sweeper = setInterval(() => http.closeIdleConnections(), 50);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([closed.then(() => 'closed' as const), timedOut]);
      clearTimeout(timer);
      clearInterval(sweeper);
      if (outcome === 'timeout') {
        logger.warn({ timeoutMs }, 'in-flight requests outlived the shutdown bound; closing their connections');
        http.closeAllConnections();
        await closed;
      }
    },
  };
}
