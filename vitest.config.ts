import { defineConfig } from 'vitest/config';
import { edgeProjects } from './edge/vitest.config.ts';

export default defineConfig({
  test: {
    // The edge's global setups stop real servers (wrangler dev, radosgw, the GPU function) after the
    // run; vitest exits the process when closing takes longer than this.
    teardownTimeout: 120_000,
    projects: [
      {
        test: {
          name: 'node',
          include: [
            'shared/**/*.test.ts',
            'gpu-function/**/*.test.ts',
            'infra/stack/**/*.test.ts',
            'edge/playground/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: ['**/node_modules/**'],
          // onnxruntime sessions and the property tests are CPU-heavy; the machine has 2 cores.
          pool: 'forks',
          maxWorkers: 2,
          // Generous limits: a limit is a hang detector, not a speed check; the machine is shared and a
          // demo edit that takes 10 s idle can take minutes under load. Speed is measured by npm run bench:*.
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // Projects with different worker counts run as separate groups: the Node suites first.
          sequence: { groupOrder: 0 },
        },
      },
      // The edge runs inside workerd (@cloudflare/vitest-plugin); see edge/vitest.config.ts.
      ...edgeProjects,
    ],
  },
});
