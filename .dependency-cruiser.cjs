// dependency-cruiser: how imports are found and resolved, for the import-cycle check
// (scripts/check-cycles.mjs, which reads the module graph and decides what counts as a cycle).
module.exports = {
  options: {
    // Type-only imports are part of the graph (marked "type-only"); the check decides what to do with them.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|\\.tsbuild)/|^packages/api/src/gen/' },
    enhancedResolveOptions: {
      conditionNames: ['conclave-source', 'import', 'default'],
      extensions: ['.ts', '.mts', '.js', '.mjs', '.cjs'],
    },
  },
};
