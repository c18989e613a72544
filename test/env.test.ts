/** Pure parsing of the environment (the process-level exit is covered in embedded.test.ts). */
import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv } from '../src/config/env.js';

describe('parseEnv', () => {
  it('defaults to the embedded single-replica setup', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ PORT: 4000, PGLITE_DATA_DIR: '.data/pglite', MIGRATE_ON_START: true, GRAPHIQL: true });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
  });

  it('turns GraphiQL off in production unless asked', () => {
    expect(parseEnv({ NODE_ENV: 'production' }).GRAPHIQL).toBe(false);
    expect(parseEnv({ NODE_ENV: 'production', GRAPHIQL: 'true' }).GRAPHIQL).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, /^invalid environment: PORT: expected an integer from 0 to 65535 \(got "abc"\)$/],
    [{ DATABASE_URL: 'nonsense' }, /^invalid environment: DATABASE_URL: expected a postgres: or postgresql:\/\/ URL/],
    [{ REDIS_URL: 'http://x' }, /^invalid environment: REDIS_URL: expected a redis: or rediss:\/\/ URL/],
    [{ MIGRATE_ON_START: 'maybe' }, /^invalid environment: MIGRATE_ON_START: expected true or false/],
  ])('rejects %o with one line naming the variable', (input, message) => {
    expect(() => parseEnv(input)).toThrow(EnvError);
    expect(() => parseEnv(input)).toThrow(message);
  });

  it('reports every bad variable at once, on one line, without leaking passwords', () => {
    let message = '';
    try {
      parseEnv({ PORT: '70000', DATABASE_URL: 'mysql://root:hunter2@db/x', LOG_LEVEL: 'loud' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain('PORT');
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('LOG_LEVEL');
    expect(message).not.toContain('hunter2');
  });
});
