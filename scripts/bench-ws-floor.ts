/**
 * npm run bench:ws-floor — what this machine can deliver over WebSockets at all.
 *
 * The floor under bench:fanout: one process broadcasts one pre-serialized graphql-ws `next`
 * message per event to N plain `ws` clients in a second process (this one), which parse each
 * message. No GraphQL, no database, no Redis. If this misses a latency goal, no subscription
 * server on this machine can meet it with its subscribers on the same machine.
 * Flags: --sockets 500,1000  --rate 200  --duration 5  --per-socket 1 (messages per socket per event)
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { freePort } from './bench/load.js';

interface Start {
  type: 'start';
  rate: number;
  total: number;
  perSocket: number;
}
type FromServer = { type: 'ready' } | { type: 'done'; cpuMs: number; sent: number; seconds: number };

/** The broadcasting side, run in a child process so that both sides have their own event loop. */
function serve(port: number): void {
  const wss = new WebSocketServer({ port, host: '127.0.0.1' });
  wss.on('listening', () => process.send!({ type: 'ready' } satisfies FromServer));
  process.on('message', (start: Start) => {
    const began = Date.now();
    const cpu = process.cpuUsage();
    let n = 0;
    let sent = 0;
    const tick = () => {
      if (n >= start.total) {
        const used = process.cpuUsage(cpu);
        process.send!({ type: 'done', cpuMs: (used.user + used.system) / 1000, sent, seconds: (Date.now() - began) / 1000 } satisfies FromServer);
        return;
      }
      const due = began + (n * 1000) / start.rate;
      const wait = due - Date.now();
      if (wait > 0) {
        setTimeout(tick, wait);
        return;
      }
      // Stamped with when the event was due, not when it went out: a sender that falls behind
      // its schedule shows as latency.
      const message = JSON.stringify({ id: 'sub', type: 'next', payload: { data: { registryEvents: { sequence: String(n), at: new Date(due).toISOString(), type: 'MAINTENANCE_CHANGED' } } } });
      for (const client of wss.clients) {
        for (let k = 0; k < start.perSocket; k++) client.send(message);
        sent += start.perSocket;
      }
      n++;
      setImmediate(tick);
    };
    tick();
  });
}

async function measure(sockets: number, rate: number, duration: number, perSocket: number): Promise<void> {
  const port = await freePort();
  const server = fork(fileURLToPath(import.meta.url), ['--serve', String(port)]);
  try {
    await new Promise((resolve) => server.once('message', resolve));
    const latencies: number[] = [];
    const clients = await Promise.all(
      Array.from(
        { length: sockets },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(`ws://127.0.0.1:${port}`);
            socket.on('message', (data) => {
              const message = JSON.parse(String(data)) as { payload: { data: { registryEvents: { at: string } } } };
              latencies.push(Date.now() - Date.parse(message.payload.data.registryEvents.at));
            });
            socket.once('open', () => resolve(socket));
            socket.once('error', reject);
          }),
      ),
    );
    const cpu = process.cpuUsage();
    const done = new Promise<Extract<FromServer, { type: 'done' }>>((resolve) => server.on('message', (message: FromServer) => message.type === 'done' && resolve(message)));
    server.send({ type: 'start', rate, total: rate * duration, perSocket } satisfies Start);
    const result = await done;
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the last messages land
    const used = process.cpuUsage(cpu);
    for (const client of clients) client.terminate();
    latencies.sort((x, y) => x - y);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
    const clientMs = (used.user + used.system) / 1000;
    console.log(
      `${String(sockets).padEnd(9)}${String(perSocket).padEnd(12)}${String(rate).padEnd(9)}${`${latencies.length}/${result.sent}`.padEnd(18)}${String(pct(50)).padEnd(8)}${String(pct(99)).padEnd(8)}${((result.cpuMs / result.sent) * 1000).toFixed(1).padEnd(15)}${((clientMs / latencies.length) * 1000).toFixed(1).padEnd(15)}${(rate * duration / result.seconds).toFixed(0)}`,
    );
  } finally {
    server.kill();
  }
}

if (process.argv[2] === '--serve') {
  serve(Number(process.argv[3]));
} else {
  const { values } = parseArgs({
    options: {
      sockets: { type: 'string', default: '500,1000' },
      rate: { type: 'string', default: '200' },
      duration: { type: 'string', default: '5' },
      'per-socket': { type: 'string', default: '1' },
    },
  });
  console.log(`${'sockets'.padEnd(9)}${'per socket'.padEnd(12)}${'ev/s'.padEnd(9)}${'received/sent'.padEnd(18)}${'p50 ms'.padEnd(8)}${'p99 ms'.padEnd(8)}${'server µs/msg'.padEnd(15)}${'client µs/msg'.padEnd(15)}ev/s achieved`);
  for (const sockets of values.sockets.split(',').map(Number)) {
    await measure(sockets, Number(values.rate), Number(values.duration), Math.max(1, Number(values['per-socket'])));
  }
}
