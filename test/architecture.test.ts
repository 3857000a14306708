/**
 * The layers as the imports draw them: every `import`, `import type`, `export … from`, dynamic
 * `import()` and `import('…')` type of src/ and web/src/, with `#platform`-style package imports
 * resolved through package.json "imports", as one graph. No cycle (type-only included); the
 * runtime seam (src/platform/) stands on nothing but errors and utils; the domain does not
 * reach up into the parallel layer; and the root entry loads no pkijs or asn1js.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/tamper.js';

/** How a module depends on another: loaded with it, only for its types, or loaded later. */
type EdgeKind = 'static' | 'type' | 'dynamic';

/** One dependency: a module of the tree (a path relative to the repository) or a package / builtin. */
interface Edge {
  to: string;
  kind: EdgeKind;
  /** Whether `to` is a file of the tree (false: `node:` builtin or npm package). */
  internal: boolean;
}

type Graph = Map<string, Edge[]>;

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { imports?: Record<string, unknown> };

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.isFile() && p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every string a package.json "imports" entry leads to, whatever the conditions. */
function targets(entry: unknown): string[] {
  if (typeof entry === 'string') return [entry];
  if (entry && typeof entry === 'object') return Object.values(entry).flatMap(targets);
  return [];
}

/** A target in the build (`./dist/x.js`, `./dist/x.d.ts`) or the sources (`./src/x.ts`), as the source file. */
function sourceOf(target: string): string | undefined {
  const rel = target.replace(/^\.\//, '');
  const src = rel.startsWith('dist/') ? `src/${rel.slice(5).replace(/\.d\.ts$|\.js$/, '')}.ts` : rel;
  return existsSync(join(ROOT, src)) ? src : undefined;
}

/**
 * Where an import leads: files of the tree (several for a package import whose conditions pick
 * different files), or the package or builtin named.
 */
function resolveSpecifier(from: string, spec: string): Array<Omit<Edge, 'kind'>> {
  if (spec.startsWith('#')) {
    const entry = pkg.imports?.[spec];
    if (entry === undefined) throw new Error(`${from}: ${spec} is not in package.json "imports"`);
    const files = [...new Set(targets(entry).map(sourceOf).filter((f): f is string => f !== undefined))];
    if (files.length === 0) throw new Error(`${from}: ${spec} leads to no source file`);
    return files.map((to) => ({ to, internal: true }));
  }
  if (!spec.startsWith('.')) return [{ to: spec, internal: false }];
  const base = resolve(ROOT, dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(candidate)) return [{ to: relative(ROOT, candidate).split('\\').join('/'), internal: true }];
  }
  throw new Error(`${from}: cannot resolve ${spec}`);
}

/** The imports of one file, with their kind. */
function importsOf(file: string, text: string): Array<{ spec: string; kind: EdgeKind }> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Array<{ spec: string; kind: EdgeKind }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ spec: node.moduleSpecifier.text, kind: node.importClause?.isTypeOnly ? 'type' : 'static' });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ spec: node.moduleSpecifier.text, kind: node.isTypeOnly ? 'type' : 'static' });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push({ spec: node.moduleReference.expression.text, kind: node.isTypeOnly ? 'type' : 'static' });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ spec: node.argument.literal.text, kind: 'type' });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (!arg || !ts.isStringLiteralLike(arg)) throw new Error(`${file}: an import() whose module is not a string literal cannot be checked`);
      out.push({ spec: arg.text, kind: 'dynamic' });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The import graph of src/ and web/src/ (paths relative to the repository, `/`-separated). */
function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const abs of [...tsFiles(join(ROOT, 'src')), ...tsFiles(join(ROOT, 'web', 'src'))]) {
    const file = relative(ROOT, abs).split('\\').join('/');
    const edges = importsOf(file, readFileSync(abs, 'utf8')).flatMap(({ spec, kind }) => resolveSpecifier(file, spec).map((e) => ({ ...e, kind })));
    graph.set(file, edges);
  }
  return graph;
}

/** A cycle: a shortest path from a module back to itself, and every module of its strongly connected component. */
interface Cycle {
  path: string[];
  component: string[];
}

/**
 * The cycles of a graph: one per strongly connected component of more than one module (or a
 * module that imports itself), as the path `a -> b -> … -> a`, shortest from the component's
 * first module in sorted order.
 */
function findCycles(graph: ReadonlyMap<string, readonly Pick<Edge, 'to' | 'internal'>[]>): Cycle[] {
  const next = (v: string): string[] => (graph.get(v) ?? []).filter((e) => e.internal && graph.has(e.to)).map((e) => e.to);
  // Tarjan's strongly connected components (iterative-free recursion is fine at this size).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  const cycles: Cycle[] = [];
  for (const component of components) {
    const members = new Set(component);
    const first = [...component].sort()[0]!;
    if (component.length === 1 && !next(first).includes(first)) continue;
    // Breadth first from `first` back to itself, within the component.
    const parent = new Map<string, string>();
    const queue = [first];
    let found: string | undefined;
    while (queue.length > 0 && found === undefined) {
      const v = queue.shift()!;
      for (const w of next(v).sort()) {
        if (!members.has(w)) continue;
        if (w === first) {
          found = v;
          break;
        }
        if (!parent.has(w)) {
          parent.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [first];
    for (let v = found!; v !== first; v = parent.get(v)!) path.splice(1, 0, v);
    cycles.push({ path: [...path, first], component: [...component].sort() });
  }
  return cycles.sort((a, b) => a.path[0]!.localeCompare(b.path[0]!));
}

/** A cycle as a line: its path, and the other modules of its component (each in some cycle with it). */
const cycleLine = ({ path, component }: Cycle): string => {
  const others = component.filter((m) => !path.includes(m));
  return `${path.join(' -> ')}${others.length > 0 ? ` (in cycles with it too: ${others.join(', ')})` : ''}`;
};

/**
 * The modules a module loads when imported (its static, not type-only, imports, transitively),
 * each with the module that first led to it.
 */
function runtimeClosure(graph: Graph, entry: string): Map<string, string | undefined> {
  const seen = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const e of graph.get(from) ?? []) {
      if (e.kind !== 'static' || seen.has(e.to)) continue;
      seen.set(e.to, from);
      if (e.internal) queue.push(e.to);
    }
  }
  return seen;
}

const graph = importGraph();
const edge = (from: string, to: string, kind?: EdgeKind): boolean => (graph.get(from) ?? []).some((e) => e.to === to && (kind === undefined || e.kind === kind));
const show = (edges: Array<[string, Edge]>): string[] => edges.map(([from, e]) => `${from} -> ${e.to}${e.kind === 'static' ? '' : ` (${e.kind})`}`);
const under = (dirs: readonly string[]) => (file: string) => dirs.some((d) => file.startsWith(`${d}/`));

describe('the import graph', () => {
  it('is read from every source file, with every kind of import', () => {
    expect(graph.size).toBeGreaterThan(80);
    expect([...graph.keys()].some((f) => f.startsWith('web/src/'))).toBe(true);
    // A value import, an `import type`, a `#platform` import resolved for each condition, and a dynamic import.
    expect(edge('src/chain/verifier.ts', 'src/chain/walk.ts', 'static')).toBe(true);
    expect(edge('web/src/protocol.ts', 'src/chain/findings.ts', 'type')).toBe(true);
    expect(edge('src/chain/verifier.ts', 'src/platform/node.ts') && edge('src/chain/verifier.ts', 'src/platform/web.ts')).toBe(true);
    expect(edge('src/cli/validate-logs.ts', 'src/cli/cosign.ts', 'dynamic')).toBe(true);
  });

  it('finds a cycle, type-only or not, and prints it', () => {
    const g = new Map<string, Edge[]>([
      ['a.ts', [{ to: 'b.ts', kind: 'static', internal: true }]],
      ['b.ts', [{ to: 'c.ts', kind: 'type', internal: true }, { to: 'pkijs', kind: 'static', internal: false }]],
      ['c.ts', [{ to: 'a.ts', kind: 'dynamic', internal: true }]],
      ['d.ts', [{ to: 'd.ts', kind: 'type', internal: true }]],
      ['e.ts', [{ to: 'a.ts', kind: 'static', internal: true }]],
    ]);
    expect(findCycles(g).map(cycleLine)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts', 'd.ts -> d.ts']);
    g.set('f.ts', [{ to: 'b.ts', kind: 'type', internal: true }]);
    g.get('c.ts')!.push({ to: 'f.ts', kind: 'static', internal: true });
    expect(findCycles(g).map(cycleLine)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts (in cycles with it too: f.ts)', 'd.ts -> d.ts']);
    expect(findCycles(new Map([['a.ts', [{ to: 'b.ts', internal: true }]], ['b.ts', []]]))).toEqual([]);
  });

  it('has no cycle in src/ and web/src/, type-only and dynamic imports included', () => {
    expect(findCycles(graph).map(cycleLine)).toEqual([]);
  });

  it('keeps src/platform/ to runtime primitives: it imports nothing of the tree but platform/, errors and utils', () => {
    const allowed = (to: string): boolean => to.startsWith('src/platform/') || to === 'src/errors.ts' || to === 'src/utils.ts';
    const outside = [...graph].filter(([from]) => from.startsWith('src/platform/')).flatMap(([from, edges]) => edges.filter((e) => e.internal && !allowed(e.to)).map((e): [string, Edge] => [from, e]));
    expect(show(outside)).toEqual([]);
  });

  it('keeps the domain below the parallel layer: chain, sources, hash, format, crypto and checkpoint do not import src/parallel/', () => {
    const domain = under(['src/chain', 'src/sources', 'src/hash', 'src/format', 'src/crypto', 'src/checkpoint']);
    const upward = [...graph].filter(([from]) => domain(from)).flatMap(([from, edges]) => edges.filter((e) => e.to.startsWith('src/parallel/')).map((e): [string, Edge] => [from, e]));
    expect(show(upward)).toEqual([]);
  });

  it('loads no pkijs or asn1js when the root entry is imported', () => {
    const closure = runtimeClosure(graph, 'src/index.ts');
    expect(closure.has('src/chain/verifier.ts')).toBe(true); // (the closure is followed)
    // Each heavy package loaded, with the chain of imports that loads it.
    const loaded = [...closure.keys()].filter((m) => /^(pkijs|asn1js)(\/|$)/.test(m));
    const paths = loaded.map((m) => {
      const path = [m];
      for (let v = closure.get(m); v !== undefined; v = closure.get(v)) path.unshift(v);
      return path.join(' -> ');
    });
    expect(paths).toEqual([]);
  });
});
