/** Process entry: parse the environment, start, and shut down cleanly on SIGTERM/SIGINT. */
import { loadEnv } from './config/env.js';
import { createLogger } from './infra/logger/logger.js';
import { startRuntime } from './runtime.js';

const env = loadEnv();
const logger = createLogger({ level: env.LOG_LEVEL });

try {
  const runtime = await startRuntime(env, { logger });
  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    // A second signal while draining means "now".
    process.once(signal, () => process.exit(1));
    runtime.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (error) {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
}
