/** Writes schema.graphql from the code (`--check` fails instead when the file is stale). */
import { readFileSync, writeFileSync } from 'node:fs';
import { printRegistrySchema } from '../src/graphql/schema.js';

const printed = printRegistrySchema();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync('schema.graphql', 'utf8');
  } catch {}
  if (current !== printed) {
    console.error('schema.graphql is out of date: run npm run schema:print');
    process.exit(1);
  }
  console.log('schema.graphql is up to date');
} else {
  writeFileSync('schema.graphql', printed);
  console.log(`wrote schema.graphql (${printed.split('\n').length} lines)`);
}
