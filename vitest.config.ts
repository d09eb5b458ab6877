import { defineConfig } from 'vitest/config';
import { edgeProjects } from './edge/vitest.config.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: [
            'shared/**/*.test.ts',
            'gpu-function/**/*.test.ts',
            'stack/**/*.test.ts',
            'playground/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: ['**/node_modules/**'],
          // onnxruntime sessions and the property tests are CPU-heavy; the machine has 2 cores.
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      // The edge runs inside workerd (@cloudflare/vitest-plugin); see edge/vitest.config.ts.
      ...edgeProjects,
    ],
  },
});
