/** Unit tests of the pure dependency-graph logic (no database). */
import { describe, expect, it } from 'vitest';
import { planStartup, type DependencyNode } from '../src/registry/discovery/dependency-graph.js';

const graph = (edges: Record<string, string[]>): DependencyNode[] => Object.entries(edges).map(([slug, dependencies]) => ({ slug, dependencies }));

describe('planStartup', () => {
  it('puts dependencies first and breaks ties by slug', () => {
    const plan = planStartup(graph({ web: ['api', 'auth'], api: ['db', 'cache'], auth: ['db'], db: [], cache: [], zeta: [], alpha: ['zeta'] }));
    expect(plan.startupOrder).toEqual(['cache', 'db', 'api', 'auth', 'web', 'zeta', 'alpha']);
    expect(plan.cycles).toEqual([]);
    expect(plan.cyclesTruncated).toBe(false);
  });

  it('ignores unknown slugs and duplicate declarations', () => {
    const plan = planStartup(graph({ b: ['a', 'ghost', 'a'], a: ['nowhere'] }));
    expect(plan.startupOrder).toEqual(['a', 'b']);
  });

  it('does not depend on the input order', () => {
    const edges = { d: ['b', 'c'], c: ['a'], b: ['a'], a: [], e: [] };
    const forward = planStartup(graph(edges));
    const backward = planStartup(graph(edges).reverse());
    expect(forward).toEqual(backward);
    expect(forward.startupOrder).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('reports a cycle and lists its members, and what needs them, at the end', () => {
    // x ↔ y is a cycle; needs-x depends on it; free and root are orderable.
    const plan = planStartup(graph({ x: ['y', 'root'], y: ['x'], 'needs-x': ['x'], root: [], free: [] }));
    expect(plan.cycles).toEqual([['x', 'y']]);
    expect(plan.startupOrder).toEqual(['free', 'root', 'x', 'y', 'needs-x']);
  });

  it('follows dependencies from the smallest slug of each cycle', () => {
    // a needs c, c needs b, b needs a: the cycle reads a → c → b.
    const plan = planStartup(graph({ a: ['c'], b: ['a'], c: ['b'] }));
    expect(plan.cycles).toEqual([['a', 'c', 'b']]);
    expect(plan.startupOrder).toEqual(['a', 'b', 'c']);
  });

  it('finds every elementary cycle of an entangled component exactly once', () => {
    // a ↔ b, b ↔ c, and a → c → ... → a through b: cycles [a,b], [b,c], [a,c,b].
    const plan = planStartup(graph({ a: ['b', 'c'], b: ['a', 'c'], c: ['b'] }));
    expect(plan.cycles).toEqual([
      ['a', 'b'],
      ['a', 'c', 'b'],
      ['b', 'c'],
    ]);
  });

  it('reports a self-dependency as a cycle of one', () => {
    const plan = planStartup(graph({ loner: ['loner'], other: [] }));
    expect(plan.cycles).toEqual([['loner']]);
    expect(plan.startupOrder).toEqual(['other', 'loner']);
  });

  it('orders independent cycles, and cycles needing cycles, deterministically', () => {
    const plan = planStartup(graph({ p: ['q'], q: ['p'], m: ['n', 'q'], n: ['m'], z: [] }));
    expect(plan.cycles).toEqual([
      ['m', 'n'],
      ['p', 'q'],
    ]);
    // {m,n} needs {p,q}, so p and q start first although m < p.
    expect(plan.startupOrder).toEqual(['z', 'p', 'q', 'm', 'n']);
  });

  it('stops the cycle search at its budget and says so', () => {
    // A complete graph on 9 nodes has tens of thousands of elementary cycles.
    const slugs = Array.from({ length: 9 }, (_, i) => `n${i}`);
    const nodes = slugs.map((slug) => ({ slug, dependencies: slugs.filter((other) => other !== slug) }));
    const plan = planStartup(nodes, { maxCycles: 50 });
    expect(plan.cycles).toHaveLength(50);
    expect(plan.cyclesTruncated).toBe(true);
    expect(new Set(plan.cycles.map((cycle) => cycle.join(','))).size).toBe(50);
    expect(plan.startupOrder).toEqual(slugs);
  });

  it('handles a long chain without recursion limits', () => {
    const count = 20_000;
    const nodes = Array.from({ length: count }, (_, i) => ({ slug: `s${String(i).padStart(5, '0')}`, dependencies: i === 0 ? [] : [`s${String(i - 1).padStart(5, '0')}`] }));
    // Close the chain into one huge cycle: Tarjan must cope iteratively.
    nodes[0]!.dependencies = [nodes[count - 1]!.slug];
    const plan = planStartup(nodes, { maxCycles: 5, stepsPerComponent: 100_000 });
    expect(plan.startupOrder).toHaveLength(count);
    expect(plan.cycles).toHaveLength(1);
    expect(plan.cycles[0]).toHaveLength(count);
  });
});
