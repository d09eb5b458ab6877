/**
 * Setup, what `/health-check` reports as STARTING until it succeeds (READY) or fails
 * (SETUP_FAILED, with the reason and these logs): the bundle is found (the demo bundle built, a
 * folder verified file by file, or a URL downloaded and verified), then each prediction slot runs
 * one small warm-up edit at the bundle's own image size, which builds the runtime graphs and opens
 * the onnxruntime sessions the slot then keeps open (its ModelCache) for the edits that follow.
 */
import { METHOD } from '@dragflow/shared/presets';
import { ensureDemoBundle } from '../bundle/demo.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { verifyBundle } from '../bundle/verify.ts';
import { encodeImage } from '../image/encode.ts';
import { runEdit } from '../pipeline/edit.ts';
import type { ModelCache, OpenedBundle } from '../pipeline/model-cache.ts';
import { downloadBundle } from './bundle-download.ts';
import type { BundleSource } from './settings.ts';

export type SetupStatus = 'starting' | 'succeeded' | 'failed';

/** The warm-up edit's options: the default model layout (so real edits reuse its sessions), little work. */
const WARM_UP_OPTIONS = { steps: 2, skip_steps: 0, transport_iterations: 1, intensify_iterations: 0 };

/** The bundle's native image size: its own statement, or the graph grid's tokens times 16 pixels. */
function bundleImageSize(manifest: Manifest): { width: number; height: number } {
  const { image_size: size, graph_grid: grid } = manifest.config;
  return (
    size ?? { width: grid.width * METHOD.imageSideMultiple, height: grid.height * METHOD.imageSideMultiple }
  );
}

/** A flat grey image with a lighter square moved a quarter of the image to the right. */
async function warmUpRequest(manifest: Manifest) {
  const { width, height } = bundleImageSize(manifest);
  const rgb = new Uint8Array(width * height * 3).fill(96);
  const [x0, y0, side] = [
    Math.round(width / 8),
    Math.round(height / 4),
    Math.round(Math.min(width, height) / 4),
  ];
  for (let y = y0; y < y0 + side; y++) rgb.fill(200, (y * width + x0) * 3, (y * width + x0 + side) * 3);
  const png = await encodeImage(rgb, width, height, { format: 'png' });
  const square: [number, number][] = [
    [x0, y0],
    [x0 + side, y0],
    [x0 + side, y0 + side],
    [x0, y0 + side],
  ];
  return {
    image: { data: `data:image/png;base64,${png.toString('base64')}` },
    operations: [
      {
        kind: 'relocate' as const,
        source: { polygons: [square] },
        target: [x0 + side / 2 + width / 4, y0 + side / 2] as [number, number],
      },
    ],
    options: WARM_UP_OPTIONS,
  };
}

export class Setup {
  status: SetupStatus = 'starting';
  readonly startedAt = new Date();
  completedAt: Date | null = null;
  /** Why setup failed, in one line. */
  error: string | null = null;
  bundle: OpenedBundle | null = null;
  private readonly lines: string[] = [];

  constructor(private readonly serverLog: (line: string) => void) {}

  log(line: string): void {
    this.lines.push(line);
    this.serverLog(`setup: ${line}`);
  }

  get logs(): string {
    return this.lines.map((line) => `${line}\n`).join('');
  }

  /** The model name and manifest hash: the prediction's `version`. */
  get version(): string {
    return this.bundle
      ? `${this.bundle.manifest.model}@${this.bundle.manifest.manifest_sha256.slice(0, 12)}`
      : '';
  }

  private async openBundle(source: BundleSource, allowLoopback: boolean): Promise<OpenedBundle> {
    switch (source.kind) {
      case 'demo': {
        const demo = await ensureDemoBundle();
        this.log(`demo bundle ${demo.built ? 'built' : 'found'} at ${demo.dir} (no generative prior)`);
        return { dir: demo.dir, manifest: demo.manifest };
      }
      case 'dir': {
        const manifest = await verifyBundle(source.dir, { depth: 'full' });
        this.log(`bundle ${source.dir} verified: ${Object.keys(manifest.files).length} files`);
        return { dir: source.dir, manifest };
      }
      case 'url': {
        const manifest = await downloadBundle({ ...source, allowLoopback, log: (line) => this.log(line) });
        this.log(`bundle ${source.dir} verified: ${Object.keys(manifest.files).length} files`);
        return { dir: source.dir, manifest };
      }
    }
  }

  /**
   * Runs setup; never throws (a failure is the SETUP_FAILED state). `ready` gets the bundle before
   * the status says succeeded, so no request can see READY without it.
   */
  async run(
    source: BundleSource,
    allowLoopback: boolean,
    slots: readonly ModelCache[],
    ready: (bundle: OpenedBundle, version: string) => void,
  ): Promise<void> {
    try {
      const bundle = await this.openBundle(source, allowLoopback);
      this.log(`model ${bundle.manifest.model}, manifest ${bundle.manifest.manifest_sha256}`);
      const request = await warmUpRequest(bundle.manifest);
      for (const [index, models] of slots.entries()) {
        // The verified manifest is handed over, so the slot does not hash the bundle again.
        await models.bundle(bundle.dir, async () => bundle);
        const { metrics } = await runEdit(request, { bundleDir: bundle.dir, models });
        this.log(
          `slot ${index}: warm-up edit at ${metrics.image.width}x${metrics.image.height}, ` +
            `${metrics.transformer_calls} transformer calls, ${metrics.total_seconds.toFixed(2)} s`,
        );
      }
      this.bundle = bundle;
      ready(bundle, this.version);
      this.status = 'succeeded';
    } catch (error) {
      this.error = `${(error as { code?: string }).code ?? 'internal'}: ${(error as Error).message}`;
      this.log(`failed: ${this.error}`);
      this.status = 'failed';
    } finally {
      this.completedAt = new Date();
    }
  }

  toJSON() {
    return {
      started_at: this.startedAt.toISOString(),
      completed_at: this.completedAt?.toISOString() ?? null,
      status: this.status,
      logs: this.logs,
    };
  }
}
