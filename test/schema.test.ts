import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { printRegistrySchema } from '../src/graphql/schema.js';

it('schema.graphql matches the schema the code builds (run npm run schema:print)', () => {
  expect(readFileSync('schema.graphql', 'utf8')).toBe(printRegistrySchema());
});
