/** Nested reads are batched: the statement count of a list query does not grow with the page. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

let registry: TestRegistry;

beforeAll(async () => {
  registry = await startTestRegistry({ label: 'batching' });
  // 10 parents with 10 children each (110 services), inserted directly: this file is about reads.
  await registry.database.query(`
    INSERT INTO services (slug, name) SELECT 'parent-' || lpad(p::text, 2, '0'), 'Parent ' || p FROM generate_series(0, 9) p;
    INSERT INTO services (slug, name, parent_id)
      SELECT 'parent-' || lpad(p::text, 2, '0') || '-child-' || c, 'Child', (SELECT id FROM services WHERE slug = 'parent-' || lpad(p::text, 2, '0'))
      FROM generate_series(0, 9) p, generate_series(0, 9) c;`);
});
afterAll(async () => {
  await registry?.close();
});

const LIST = `query($first: Int!) {
  services(first: $first) {
    totalCount
    edges { node { slug parent { slug name } children { slug kind } } }
  }
}`;

async function statementsFor(first: number) {
  let nodes: any[] = [];
  const { count, statements } = await registry.countStatements(async () => {
    const data = await registry.client.data(LIST, { first });
    nodes = data.services.edges.map((edge: any) => edge.node);
  });
  return { count, statements, nodes };
}

it('lists 100 services with parent and children in a constant number of statements', async () => {
  const small = await statementsFor(5);
  const large = await statementsFor(100);
  expect(large.nodes).toHaveLength(100);
  // Sanity: the page really carries parents and children to resolve.
  expect(large.nodes.filter((node) => node.parent !== null).length).toBeGreaterThan(50);
  expect(large.nodes.filter((node) => node.children.length === 10).length).toBeGreaterThan(0);
  expect(large.count).toBe(small.count);
  // One page query, one count, one batch for parents, one for children.
  expect(large.count).toBe(4);
});
