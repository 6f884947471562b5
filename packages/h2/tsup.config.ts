import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: { compilerOptions: { composite: false, incremental: false, ignoreDeprecations: '6.0' } },
  clean: true,
  sourcemap: true,
  splitting: false,
});
