import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs; credentials in headers never reach the log. */
export function createLogger(options: { level: string; name?: string }): Logger {
  return pino({
    name: options.name ?? 'service-registry',
    level: options.level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', '*.password', 'databaseUrl', 'redisUrl'],
      censor: '[redacted]',
    },
  });
}
