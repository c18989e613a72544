import type { TestProject } from 'vitest/node';
import { resolvePostgres, resolveRedis } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const postgres = await resolvePostgres(process.env);
  const redis = await resolveRedis(process.env);
  project.provide('postgresAdminUrl', postgres.url);
  project.provide('redisUrl', redis.url);
  return async () => {
    await postgres.stop?.();
    await redis.stop?.();
  };
}
