import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: {
    resolve: ['@conclave/h2'],
    compilerOptions: { composite: false, incremental: false, ignoreDeprecations: '6.0' },
  },
  clean: true,
  sourcemap: true,
  // @conclave/h2 is internal: bundled in, not a runtime dependency.
  noExternal: ['@conclave/h2'],
  splitting: false,
});
