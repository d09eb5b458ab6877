/**
 * The whole service on this machine, as a new user meets it: `npm start` (GPU function on the
 * demo bundle, edge under wrangler dev with local D1, Durable Objects and R2), then
 * 1. the curl line it prints, run as printed, gives an edit that finishes;
 * 2. headless Chromium drives the playground: sample photo, painted region, dragged relocate
 *    target, an API error shown next to its control, submit, progress to 100%, and a result
 *    that differs inside mask B and equals the input outside it (screenshots in test-artifacts/);
 * 3. SIGINT stops every process it started and frees every port they listened on;
 * 4. with STORAGE=s3 and a real S3-compatible server (the local radosgw) the edit's files live
 *    there; then a service that dies brings the stack down with a message naming it, and nothing
 *    is left.
 * Edits use a short schedule and few iterations; every wait is on an event (a printed line, a
 * page state, a process exit), never a fixed sleep.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRadosgw } from '../../../infra/s3/radosgw.ts';
import type { ListeningSocket } from '../../../infra/stack/src/ports.ts';
import { portProblem } from '../../../infra/stack/src/ports.ts';
import { freePort } from '../../../infra/stack/test/support/free-port.ts';
import {
  listeningSocketsOf,
  processTree,
  stillListening,
  stillRunning,
  type TrackedProcess,
} from '../../../infra/stack/test/support/process-tree.ts';
import { SseParser } from '../public/js/sse.js';
import { artifactsDir, launchChromium } from './support/browser.ts';
import { type Banner, REPO_ROOT, type StackProcess, startStack } from './support/local-stack.ts';

const STARTUP_MS = 600_000;
const EDIT_MS = 300_000;

/** Follows an edit's event stream until its final status; returns that edit object. */
interface FinishedEdit {
  id: string;
  status: string;
  output: { image: string };
  metrics: Record<string, number>;
}

async function finishedEdit(eventsUrl: string, key: string): Promise<FinishedEdit> {
  const response = await fetch(eventsUrl, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  const parser = new SseParser();
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) {
    for (const event of parser.feed(decoder.decode(chunk, { stream: true }))) {
      const data = JSON.parse(event.data);
      if (event.event === 'status' && ['succeeded', 'failed', 'canceled'].includes(data.status)) return data;
    }
  }
  throw new Error('the event stream ended before the edit did');
}

function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect([...bytes.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Runs the banner's curl line as printed and follows the edit it starts to its end. */
async function printedCurlEdit(printed: Banner): Promise<FinishedEdit> {
  const { stdout } = await promisify(execFile)('bash', ['-c', printed.curl]);
  const accepted = JSON.parse(stdout);
  expect(accepted.status).toBe('queued');
  expect(accepted.metrics.price_credits).toBe(10);
  const edit = await finishedEdit(accepted.urls.events, printed.key);
  expect(edit.status).toBe('succeeded');
  expect(edit.metrics.charged_credits).toBe(10);
  const image = new Uint8Array(await (await fetch(edit.output.image)).arrayBuffer());
  expect(pngSize(image)).toEqual({ width: 384, height: 256 });
  console.log(
    `curl edit ${edit.id}: ${edit.metrics.transformer_calls} transformer calls, ${edit.metrics.predict_time} s, image at ${new URL(edit.output.image).origin}`,
  );
  return edit;
}

let state: string;
let ports: { edge: number; gpu: number };
let stack: StackProcess;
let banner: Banner;
let tree: TrackedProcess[];
let sockets: ListeningSocket[];

beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), 'dragflow-local-stack-'));
  ports = { edge: await freePort(), gpu: await freePort() };
  stack = startStack(['--port', String(ports.edge), '--gpu-port', String(ports.gpu), '--state', state]);
  banner = await stack.banner;
  tree = await processTree(stack.child.pid!);
  sockets = await listeningSocketsOf(tree);
}, STARTUP_MS);

afterAll(async () => {
  // Only after a failure is anything left: end it by its group so no port stays taken.
  if (stack?.child.exitCode === null) process.kill(-stack.child.pid!, 'SIGKILL');
  await rm(state, { recursive: true, force: true });
});

describe('npm start', () => {
  it(
    'prints the playground, the API base, the key and a curl line that works as printed',
    async () => {
      const edge = `http://127.0.0.1:${ports.edge}`;
      expect(banner.playground).toBe(`${edge}/#key=${banner.key}`);
      expect(banner.api).toBe(`${edge}/v1`);
      expect(banner.key).toMatch(/^dfk_[A-Za-z0-9_-]{20,}$/);
      // What runs: the GPU function (node), wrangler and workerd, each listening on loopback.
      const commands = tree.map((p) => p.command);
      expect(commands.some((c) => c.includes('dragflow.js serve --demo'))).toBe(true);
      expect(commands.some((c) => c.includes('wrangler.js dev'))).toBe(true);
      expect(commands.some((c) => c.includes('workerd serve'))).toBe(true);
      const listened = new Set(sockets.map((s) => s.port));
      expect(listened.has(ports.edge)).toBe(true);
      expect(listened.has(ports.gpu)).toBe(true);
      console.log(`stack: ${tree.length} processes, listening on ${[...listened].sort().join(', ')}`);

      const edit = await printedCurlEdit(banner);
      // The default store: the edge's own signed URLs over Miniflare's R2.
      expect(edit.output.image.startsWith(`${edge}/files/`)).toBe(true);
    },
    EDIT_MS,
  );

  it(
    'serves a playground that edits a sample photo by dragging, in headless Chromium',
    async () => {
      const browser: Browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const pageErrors: string[] = [];
        page.on('pageerror', (error) => pageErrors.push(error.message));
        await page.goto(banner.playground);
        await page.waitForSelector('body[data-ready="true"]');
        // The key came in the fragment, is kept, and left the address bar.
        expect(new URL(page.url()).hash).toBe('');
        await expect.poll(() => page.locator('#balance').textContent()).toMatch(/^\d+ credits available$/);

        // Every way in: file picker, drag-and-drop, paste (each a different shipped photo), then a sample.
        const loaded = () => page.locator('#drop-zone').getAttribute('data-image');
        const canvasSize = () =>
          page
            .locator('#editor')
            .evaluate((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
        await page.setInputFiles('#file-input', join(REPO_ROOT, 'edge/playground/public/samples/rocket.png'));
        await expect.poll(loaded).toBe('rocket.png');
        expect(await canvasSize()).toEqual([384, 256]);
        for (const [how, name] of [
          ['drop', 'astronaut.png'],
          ['paste', 'coffee.png'],
        ] as const) {
          await page.evaluate(
            async ([how, name]) => {
              const blob = await (await fetch(`samples/${name}`)).blob();
              const data = new DataTransfer();
              data.items.add(new File([blob], name, { type: 'image/png' }));
              const event =
                how === 'drop'
                  ? new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })
                  : new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
              document.querySelector(how === 'drop' ? '#drop-zone' : 'body')!.dispatchEvent(event);
            },
            [how, name],
          );
          await expect.poll(loaded).toBe(name);
        }
        expect(await canvasSize()).toEqual([384, 256]);
        await page.click('[data-sample="coffee.png"]');
        await page.waitForSelector('#drop-zone.loaded');
        const box = (await page.locator('#editor').boundingBox())!;
        const at = (x: number, y: number): [number, number] => [
          box.x + (x * box.width) / 384,
          box.y + (y * box.height) / 256,
        ];
        // Paint the cup with the brush, row by row.
        await page.mouse.move(...at(150, 70));
        await page.mouse.down();
        for (let y = 70, right = true; y <= 150; y += 16, right = !right) {
          await page.mouse.move(...at(right ? 220 : 150, y), { steps: 6 });
          await page.mouse.move(...at(right ? 220 : 150, y + 16), { steps: 2 });
        }
        await page.mouse.up();
        const region = await page.locator('[data-path="operations.0.source"]').textContent();
        const area = Number(/region: (\d+) px/.exec(region ?? '')?.[1]);
        expect(area).toBeGreaterThan(6000);
        const areaOf = async (index: number) =>
          Number(
            /region: (\d+) px/.exec(
              (await page.locator(`[data-path="operations.${index}.source"]`).textContent()) ?? '',
            )?.[1] ?? 0,
          );
        // The eraser takes pixels away; a second operation, lassoed, is cleared, then removed.
        await page.keyboard.press('e');
        await page.mouse.move(...at(150, 150));
        await page.mouse.down();
        await page.mouse.move(...at(160, 150), { steps: 2 });
        await page.mouse.up();
        const erased = await areaOf(0);
        expect(erased).toBeLessThan(area);
        expect(erased).toBeGreaterThan(area - 600);
        await page.click('#add-operation');
        await page.keyboard.press('l');
        await page.mouse.move(...at(20, 200));
        await page.mouse.down();
        for (const [x, y] of [
          [80, 200],
          [80, 240],
          [20, 240],
        ] as const)
          await page.mouse.move(...at(x, y), { steps: 4 });
        await page.mouse.up();
        const lassoed = await areaOf(1);
        expect(lassoed).toBeGreaterThan(0.9 * 60 * 40);
        expect(lassoed).toBeLessThan(1.1 * 60 * 40);
        await page.click('#clear-region');
        expect(await areaOf(1)).toBe(0);
        await page.click('[aria-label="Remove operation 2"]');
        expect(await page.locator('#operations > li').count()).toBe(1);
        expect(await areaOf(0)).toBe(erased);

        // Drag the region 60 px to the right with the target tool: the outline follows.
        await page.keyboard.press('t');
        await page.mouse.move(...at(185, 110));
        await page.mouse.down();
        await page.mouse.move(...at(245, 110), { steps: 10 });
        await page.mouse.up();
        await expect
          .poll(() => page.locator('[data-path="operations.0.target"]').textContent())
          .toMatch(/^moves \+(59|60|61), [+-]?[01] px$/);

        // An API error lands next to the control its path names.
        await page.fill('#option-steps', '4');
        await page.fill('#option-skip_steps', '4');
        await page.click('#submit');
        const skipError = page.locator('[data-error-for="options.skip_steps"]');
        await expect.poll(() => skipError.textContent()).toContain('must be less than steps (4), got 4');
        expect(await page.getAttribute('#option-skip_steps', 'aria-invalid')).toBe('true');

        await page.click('#quick-options');
        await page.fill('#option-transport_iterations', '4');
        const artifacts = await artifactsDir();
        await page.screenshot({ path: join(artifacts, 'playground-editor.png') });

        await page.evaluate(() => {
          const seen: string[] = [];
          (window as unknown as { percents: string[] }).percents = seen;
          const output = document.querySelector('#progress-percent')!;
          new MutationObserver(() => seen.push(output.textContent ?? '')).observe(output, {
            childList: true,
            characterData: true,
            subtree: true,
          });
        });
        await page.click('#submit');
        await expect.poll(() => page.locator('#price').textContent()).toMatch(/^Price: 10 credits/);
        await page.waitForSelector('#result-panel:not([hidden])', { timeout: EDIT_MS });
        expect(await page.locator('#progress').evaluate((bar) => (bar as HTMLProgressElement).value)).toBe(
          100,
        );
        const percents = await page.evaluate(() => (window as unknown as { percents: string[] }).percents);
        const values = percents.map((text) => Number.parseInt(text, 10));
        expect(values.at(-1)).toBe(100);
        expect(values.some((value) => value > 0 && value < 100)).toBe(true);
        const log = await page.locator('#event-log').textContent();
        expect(log).toMatch(/transport \d\/4 · loss \d+\.\d{4}/);
        expect(log).toContain('status succeeded');
        expect(await page.locator('#previews img').count()).toBeGreaterThan(0);

        const pixels = await page.evaluate(async () => {
          const read = async (src: string) => {
            const image = new Image();
            image.src = src;
            await image.decode();
            const canvas = document.createElement('canvas');
            canvas.width = image.naturalWidth;
            canvas.height = image.naturalHeight;
            const ctx = canvas.getContext('2d')!;
            ctx.drawImage(image, 0, 0);
            return {
              width: canvas.width,
              height: canvas.height,
              data: ctx.getImageData(0, 0, canvas.width, canvas.height).data,
            };
          };
          const before = await read((document.querySelector('#before') as HTMLImageElement).src);
          const after = await read((document.querySelector('#after') as HTMLImageElement).src);
          const mask = await read((document.querySelector('#mask-overlay') as HTMLImageElement).src);
          let inB = 0;
          let changedInB = 0;
          let diffInB = 0;
          let changedOutside = 0;
          for (let i = 0; i < before.data.length; i += 4) {
            let diff = 0;
            for (let c = 0; c < 3; c++) diff += Math.abs(before.data[i + c]! - after.data[i + c]!);
            if (mask.data[i]! >= 128) {
              inB++;
              diffInB += diff / 3;
              if (diff > 0) changedInB++;
            } else if (diff > 0) {
              changedOutside++;
            }
          }
          return {
            before: [before.width, before.height],
            after: [after.width, after.height],
            inB,
            changedInB,
            meanDiffInB: diffInB / inB,
            changedOutside,
          };
        });
        console.log(
          `playground edit: B ${pixels.inB} px, changed inside B ${pixels.changedInB} (mean |diff| ${pixels.meanDiffInB.toFixed(1)}), changed outside B ${pixels.changedOutside}`,
        );
        expect(pixels.after).toEqual(pixels.before);
        expect(pixels.inB).toBeGreaterThan(area);
        expect(pixels.changedOutside).toBe(0);
        expect(pixels.changedInB / pixels.inB).toBeGreaterThan(0.5);
        expect(pixels.meanDiffInB).toBeGreaterThan(5);

        await page.check('#show-mask');
        await page.click('#copy-curl');
        expect(await page.locator('#snippet').textContent()).toContain(
          '"Authorization: Bearer $DRAGFLOW_API_KEY"',
        );
        await page.screenshot({ path: join(artifacts, 'playground-result.png'), fullPage: true });
        expect(pageErrors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    EDIT_MS,
  );

  it(
    'stops every process it started and frees every port on SIGINT',
    async () => {
      process.kill(-stack.child.pid!, 'SIGINT');
      // npm passes SIGINT on to the stack, waits for it, then ends itself with the same signal.
      expect(await stack.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(stack.stderr.join('\n')).toContain(
        `stack: everything stopped; ports ${ports.edge} and ${ports.gpu} are free`,
      );
      const left = [];
      for (const p of tree) if (await stillRunning(p)) left.push(p);
      expect(left).toEqual([]);
      expect(await stillListening(sockets)).toEqual([]);
      expect(await portProblem('127.0.0.1', ports.edge)).toBeUndefined();
      expect(await portProblem('127.0.0.1', ports.gpu)).toBeUndefined();
      console.log(`SIGINT: ${tree.length} processes gone, ${sockets.length} listening sockets closed`);
    },
    STARTUP_MS,
  );

  it(
    'stores files on an S3-compatible server when configured, and comes down naming a service that dies',
    async () => {
      const s3 = await startRadosgw();
      try {
        await s3.createBucket('dragflow-local');
        stack = startStack(
          ['--port', String(ports.edge), '--gpu-port', String(ports.gpu), '--state', state],
          {
            STORAGE: 's3',
            S3_ENDPOINT: s3.endpoint,
            S3_REGION: s3.region,
            S3_BUCKET: 'dragflow-local',
            S3_ACCESS_KEY_ID: s3.accessKeyId,
            S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
          },
        );
        const again = await stack.banner;
        expect(again.key).toBe(banner.key); // the local account and its key are kept in the state folder
        const edit = await printedCurlEdit(again);
        expect(edit.output.image.startsWith(`${s3.endpoint}/dragflow-local/`)).toBe(true);

        tree = await processTree(stack.child.pid!);
        sockets = await listeningSocketsOf(tree);
        const started = stack.stderr.find((line) => line.startsWith('stack: started the GPU function'))!;
        const gpuPid = Number(/pid (\d+)$/.exec(started)?.[1]);
        process.kill(gpuPid, 'SIGKILL');
        expect(await stack.exited).toEqual({ code: 1, signal: null });
        const stderr = stack.stderr.join('\n');
        expect(stderr).toContain(
          `stack: error: the GPU function (dragflow serve) (pid ${gpuPid}) was killed by SIGKILL unexpectedly`,
        );
        expect(stderr).toContain('stack: stopping the edge (wrangler dev)');
        const left = [];
        for (const p of tree) if (await stillRunning(p)) left.push(p);
        expect(left).toEqual([]);
        expect(await stillListening(sockets)).toEqual([]);
      } finally {
        await s3.stop();
      }
    },
    STARTUP_MS,
  );
});
