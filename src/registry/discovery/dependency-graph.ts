/**
 * Pure graph logic over declared dependencies: a start-up order (dependencies first) and the
 * cycles that prevent one. No I/O; the caller hands in every service's slug and dependencies.
 */

export interface DependencyNode {
  slug: string;
  /** Slugs this service needs; slugs that name no node are ignored. */
  dependencies: readonly string[];
}

export interface StartupPlan {
  /**
   * Every slug once. Dependencies come before their dependents, ties by slug. Services that
   * cannot be ordered (in a cycle, or needing one) follow at the end, cycle by cycle in the
   * same spirit: a cycle's members together (by slug), after whatever they need.
   */
  startupOrder: string[];
  /**
   * Elementary cycles, each starting at its smallest slug and following dependencies
   * (`[a, b]`: a needs b, b needs a). Sorted; none repeated.
   */
  cycles: string[][];
  /** True when the cycle search stopped at its budget: `cycles` is then a subset. */
  cyclesTruncated: boolean;
}

export interface PlanOptions {
  /** Most cycles reported. @default 100 */
  maxCycles?: number;
  /** Search steps allowed per strongly connected component. @default 20000 */
  stepsPerComponent?: number;
}

export function planStartup(nodes: readonly DependencyNode[], options: PlanOptions = {}): StartupPlan {
  const slugs = [...new Set(nodes.map((node) => node.slug))].sort(compareSlugs);
  const known = new Set(slugs);
  /** slug → the known slugs it needs (deduplicated, sorted). */
  const needs = new Map<string, string[]>(slugs.map((slug) => [slug, []]));
  for (const node of nodes) {
    const list = needs.get(node.slug)!;
    for (const dependency of node.dependencies) if (known.has(dependency) && !list.includes(dependency)) list.push(dependency);
  }
  for (const list of needs.values()) list.sort(compareSlugs);
  const neededBy = new Map<string, string[]>(slugs.map((slug) => [slug, []]));
  for (const [slug, list] of needs) for (const dependency of list) neededBy.get(dependency)!.push(slug);

  const ordered = kahn(slugs, needs, neededBy);
  const placed = new Set(ordered);
  const rest = slugs.filter((slug) => !placed.has(slug));
  const components = stronglyConnected(rest, needs);
  const startupOrder = [...ordered, ...orderComponents(components, needs)];
  const { cycles, truncated } = findCycles(components, needs, options.maxCycles ?? 100, options.stepsPerComponent ?? 20_000);
  return { startupOrder, cycles, cyclesTruncated: truncated };
}

/** Code-unit order, as PostgreSQL's "C" collation and Array#sort: stable across locales. */
function compareSlugs(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Topological order, smallest ready slug first. Nodes on or behind a cycle are left out. */
function kahn(slugs: string[], needs: Map<string, string[]>, neededBy: Map<string, string[]>): string[] {
  const waitingOn = new Map(slugs.map((slug) => [slug, needs.get(slug)!.length]));
  const ready = new MinHeap<string>(compareSlugs);
  for (const slug of slugs) if (waitingOn.get(slug) === 0) ready.push(slug);
  const order: string[] = [];
  for (let slug = ready.pop(); slug !== undefined; slug = ready.pop()) {
    order.push(slug);
    for (const dependent of neededBy.get(slug)!) {
      const left = waitingOn.get(dependent)! - 1;
      waitingOn.set(dependent, left);
      if (left === 0) ready.push(dependent);
    }
  }
  return order;
}

/** Tarjan's algorithm, iterative (deep graphs must not overflow the stack). Members sorted. */
function stronglyConnected(slugs: string[], needs: Map<string, string[]>): string[][] {
  const inScope = new Set(slugs);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of slugs) {
    if (index.has(start)) continue;
    const edgesOf = (slug: string) => needs.get(slug)!.filter((target) => inScope.has(target));
    const frames: Array<{ slug: string; edges: string[]; next: number }> = [{ slug: start, edges: edgesOf(start), next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      if (frame.next < frame.edges.length) {
        const target = frame.edges[frame.next++]!;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          frames.push({ slug: target, edges: edgesOf(target), next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.slug, Math.min(low.get(frame.slug)!, index.get(target)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.slug, Math.min(low.get(parent.slug)!, low.get(frame.slug)!));
      if (low.get(frame.slug) === index.get(frame.slug)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.slug);
        components.push(component.sort(compareSlugs));
      }
    }
  }
  return components;
}

/** Components in dependency order (smallest first slug among the ready ones), flattened. */
function orderComponents(components: string[][], needs: Map<string, string[]>): string[] {
  const componentOf = new Map<string, number>();
  components.forEach((members, i) => members.forEach((slug) => componentOf.set(slug, i)));
  const waitingOn = components.map(() => new Set<number>());
  const unblocks = components.map(() => new Set<number>());
  components.forEach((members, i) => {
    for (const slug of members) {
      for (const dependency of needs.get(slug)!) {
        const j = componentOf.get(dependency);
        if (j !== undefined && j !== i) {
          waitingOn[i]!.add(j);
          unblocks[j]!.add(i);
        }
      }
    }
  });
  const ready = new MinHeap<number>((a, b) => compareSlugs(components[a]![0]!, components[b]![0]!));
  components.forEach((_, i) => waitingOn[i]!.size === 0 && ready.push(i));
  const order: string[] = [];
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    order.push(...components[i]!);
    for (const j of unblocks[i]!) {
      waitingOn[j]!.delete(i);
      if (waitingOn[j]!.size === 0) ready.push(j);
    }
  }
  return order;
}

/**
 * Elementary cycles inside each component: from each member `s` (ascending), a depth-first
 * search that only visits members greater than `s` finds every cycle whose smallest slug is
 * `s` exactly once. Exponential in the worst case, hence the budgets.
 */
function findCycles(components: string[][], needs: Map<string, string[]>, maxCycles: number, stepsPerComponent: number) {
  const cycles: string[][] = [];
  let truncated = false;
  const cyclic = components.filter((members) => members.length > 1 || needs.get(members[0]!)!.includes(members[0]!));
  cyclic.sort((a, b) => compareSlugs(a[0]!, b[0]!));
  for (const members of cyclic) {
    if (cycles.length >= maxCycles) {
      truncated = true;
      break;
    }
    const inComponent = new Set(members);
    let steps = 0;
    let exhausted = false;
    for (const start of members) {
      const path = [start];
      const onPath = new Set(path);
      const frames = [{ edges: needs.get(start)!.filter((slug) => inComponent.has(slug)), next: 0 }];
      while (frames.length > 0) {
        if (cycles.length >= maxCycles || ++steps > stepsPerComponent) {
          exhausted = true;
          break;
        }
        const frame = frames[frames.length - 1]!;
        if (frame.next >= frame.edges.length) {
          frames.pop();
          onPath.delete(path.pop()!);
          continue;
        }
        const target = frame.edges[frame.next++]!;
        if (target === start) {
          cycles.push([...path]);
        } else if (compareSlugs(target, start) > 0 && !onPath.has(target)) {
          path.push(target);
          onPath.add(target);
          frames.push({ edges: needs.get(target)!.filter((slug) => inComponent.has(slug)), next: 0 });
        }
      }
      if (exhausted) break;
    }
    truncated ||= exhausted;
  }
  cycles.sort((a, b) => compareSlugs(a.join('\u0000'), b.join('\u0000')));
  return { cycles, truncated };
}

/** A binary heap: the ready set of Kahn's algorithm, so ordering n nodes is O(n log n). */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly compare: (a: T, b: T) => number) {}

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(items[i]!, items[parent]!) >= 0) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.compare(items[left]!, items[smallest]!) < 0) smallest = left;
        if (right < items.length && this.compare(items[right]!, items[smallest]!) < 0) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }
}
