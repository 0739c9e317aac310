/**
 * Layers point down only (shared/design.md, issue 15). `npm run lint` runs this over every
 * workspace, the root tests and the scripts; test/deploy/dependency-rules.test.ts plants a
 * violation of each rule and asserts it is reported.
 *
 * Workspace packages resolve through their package.json `exports` under the `source` condition
 * (as TypeScript and vitest resolve them), so an import that is not exported cannot resolve and
 * is refused by `not-to-unresolvable`.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles tie modules into one knot: split the shared part out.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'service-not-to-http',
      severity: 'error',
      comment: 'Inside an app, http/ calls service/, never back: the service has its own errors and types.',
      from: { path: '^apps/([^/]+)/src/service/' },
      to: { path: '^apps/$1/src/http/' },
    },
    {
      name: 'packages-not-to-apps',
      severity: 'error',
      comment:
        'Packages (config, forgejo, cloud-init, store, providers, …) know nothing of the apps that wire them.',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'store-is-a-leaf',
      severity: 'error',
      comment: 'The store keeps records; it never talks to providers, Forgejo or cloud-init.',
      from: { path: '^packages/store/' },
      to: { path: '^packages/(providers|forgejo|cloud-init)/' },
    },
    {
      name: 'providers-not-to-config',
      severity: 'error',
      comment:
        "The config package builds its provider sections from the providers' own schemas (@forgejo-fleet/providers/schemas), never the other way round.",
      from: { path: '^packages/providers/' },
      to: { path: '^packages/config/' },
    },
    {
      name: 'provider-schemas-load-no-sdk',
      severity: 'error',
      comment:
        "The config package loads the providers' schemas (schemas.ts and every config-schema.ts): they must not load a cloud SDK, undici or execa, even through another module.",
      from: { path: '^packages/providers/src/(schemas|config-schema|[^/]+/config-schema)[.]ts$' },
      to: { path: 'node_modules/(@aws-sdk/|undici/|execa/)', reachable: true },
    },
    {
      name: 'no-reach-into-another-workspace',
      severity: 'error',
      comment:
        'Another workspace package is imported by its name and exports, never by a relative path into it.',
      from: { path: '^(apps|packages)/([^/]+)/' },
      to: {
        path: '^(apps|packages)/',
        pathNot: '^$1/$2/',
        dependencyTypes: ['local'],
        dependencyTypesNot: ['aliased'],
      },
    },
    {
      name: 'no-reach-into-src-from-outside',
      severity: 'error',
      comment: 'Root tests and scripts import a workspace package by its name and exports, not its src/.',
      from: { pathNot: '^(apps|packages)/' },
      to: {
        path: '^(apps|packages)/[^/]+/src/',
        dependencyTypes: ['local'],
        dependencyTypesNot: ['aliased'],
      },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'An import that does not resolve, e.g. @forgejo-fleet/x/src/… that the package does not export.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules stay in the graph as leaves (doNotFollow above): excluding them would drop every
    // import of an npm package, and provider-schemas-load-no-sdk could never see one.
    exclude: { path: '(^|/)(dist|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
    preserveSymlinks: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
