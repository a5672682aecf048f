/**
 * The layers of src/, lowest first (docs/architecture.md, "Layers"). A module may import its own folder
 * and any folder below it, never one above: dependencies point one way, so there are no cycles between
 * folders, and none between files (no-circular). A new folder under src/ goes into this list at the height
 * of what it imports; until it does, `npm test` names it (not-in-a-layer).
 */
const LAYERS = [
  'core', // contracts every layer shares; imports nothing of koogate's
  'config',
  'observability',
  'cluster', // the primary and the workers of KOOGATE_WORKERS
  'crypto',
  'store',
  'directory',
  'marketplace', // the marketplace's OAuth endpoints
  'outbound', // signed calls out to the marketplace's APIs
  'tokens',
  'sessions',
  'access',
  'kit',
  'webhook',
  'basic', // the basic (instance) interfaces at the production address
  'proxy',
  'pages', // every page and error answer koogate renders
  'auth',
  'http',
  'admin',
  'compose', // the composition root
  'sandbox', // the stand-in marketplace and demo app; production code never imports it
  'main.ts', // entry points
  'cli.ts',
];

const esc = (s) => s.replace(/[.]/g, '\\.');
const unit = (name) => (name.endsWith('.ts') ? `^src/${esc(name)}$` : `^src/${name}/`);
const any = (names) => names.map(unit).join('|');

const upward = LAYERS.slice(0, -1).map((name, i) => ({
  name: `layer-${name}`,
  comment: `${name} sits below ${LAYERS.slice(i + 1).join(', ')}: it may not import them`,
  severity: 'error',
  from: { path: unit(name) },
  to: { path: any(LAYERS.slice(i + 1)) },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'an import cycle between files', severity: 'error', from: {}, to: { circular: true } },
    ...upward,
    {
      name: 'not-in-a-layer',
      comment: 'every module under src/ belongs to a layer: add its folder to LAYERS in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: any(LAYERS) },
      to: {},
    },
    { name: 'src-not-tests', comment: 'production code never imports tests or benchmarks', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench)/' } },
    {
      name: 'bench-only-harness',
      comment: 'benchmarks use the test harness (test/support), never a test',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/', pathNot: '^test/support/' },
    },
    { name: 'tests-not-bench', comment: 'tests do not depend on benchmarks', severity: 'error', from: { path: '^test/' }, to: { path: '^bench/' } },
    { name: 'no-unresolvable', comment: 'an import that resolves to nothing', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    // Type-only imports count: a type cycle is a design cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
