/** Pure parts of manifest handling: ordering, canonical checksums, diffs, the example module. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checksumOf, diffJson } from '../src/registry/manifests/canonical-json.js';
import { manifestServiceSchema } from '../src/registry/manifests/manifest-format.js';
import { parseManifest } from '../src/registry/manifests/parse-manifest.js';
import { registrationOrder } from '../src/registry/manifests/service-order.js';

const svc = (slug: string, extra: Record<string, unknown> = {}) => manifestServiceSchema.parse({ slug, name: slug, ...extra });

describe('registrationOrder', () => {
  it('puts parents before children and dependencies first where it can', () => {
    const order = registrationOrder([
      svc('check', { kind: 'CHECKER', parent: 'agent' }),
      svc('web', { dependencies: ['db'] }),
      svc('agent', { kind: 'AGENT', parent: 'poller' }),
      svc('db'),
      svc('poller', { kind: 'POLLER' }),
    ]).map((service) => service.slug);
    expect(order.indexOf('poller')).toBeLessThan(order.indexOf('agent'));
    expect(order.indexOf('agent')).toBeLessThan(order.indexOf('check'));
    expect(order.indexOf('db')).toBeLessThan(order.indexOf('web'));
  });

  it('keeps the parent first when the parent depends on its child', () => {
    const order = registrationOrder([svc('child', { parent: 'top' }), svc('top', { dependencies: ['child'] })]).map((service) => service.slug);
    expect(order).toEqual(['top', 'child']);
  });
});

describe('canonical JSON', () => {
  it('ignores key order', () => {
    expect(checksumOf({ a: 1, b: { c: [1, { d: 2, e: 3 }] } })).toBe(checksumOf({ b: { c: [1, { e: 3, d: 2 }] }, a: 1 }));
  });

  it('diffs leaves, and whole values whose type changed', () => {
    expect(diffJson({ a: { b: 1 }, list: [1, 2] }, { a: 'flat', list: [1, 3, 4] })).toEqual([
      { path: 'a', before: { b: 1 }, after: 'flat' },
      { path: 'list.1', before: 2, after: 3 },
      { path: 'list.2', before: null, after: 4 },
    ]);
  });
});

describe('the observatory example', () => {
  it('parses with its defaults alone', () => {
    const source = readFileSync('examples/modules/observatory/service-manifests/service-manifest.json', 'utf8');
    const manifest = parseManifest({ source, format: 'JSON' });
    expect(manifest.services.map((service) => service.kind)).toEqual(['POLLER', 'AGENT', 'CHECKER', 'CHECKER', 'SERVICE', 'SERVICE']);
    expect(manifest.services[0]!.healthCheck!.url).toBe('http://localhost:4310/poller/healthz');
    expect(manifest.networks[0]!.members).toHaveLength(6);
  });
});
