/**
 * `npm run bench:server`: what the Cog server adds to an edit, and whether its memory stays flat.
 *
 * The real server (`dragflow serve --demo`, a child process) and the library (`runEdit` in this
 * process, its sessions warmed by one edit first) run the same edit: the demo bundle's 256x256 scene
 * with the paper preset, inline images in, data URIs out. Two overhead ratios (target <= 1.02):
 * - server vs library: in each round the server edit (client wall time: HTTP, JSON, base64 and
 *   PNG encoding of the outputs included) and the library edit, alternately first; the median of
 *   the per-round ratios. On a shared machine the load changes between the two runs of a round; this figure
 *   carries that noise.
 * - per request: client wall time over the time the server's own pipeline took for the same edit
 *   (its `edit_seconds`), the median over every prediction: what serving adds to that very edit.
 * The server then keeps editing; its resident memory (/proc/<pid>/status VmRSS) is read after 1, 10
 * and 30 predictions (target: growth from 10 to 30 under 5%). Usage:
 * `npm run bench:server -- [--rounds 5] [--predictions 30]` (about 36 edits: minutes on two cores).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runEdit } from '../src/pipeline/edit.ts';
import { ModelCache } from '../src/pipeline/model-cache.ts';
import { send, spawnServer } from '../test/server/http-fixtures.ts';
import { ballRequest } from './ball-scene.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, predictions: { type: 'string', default: '30' } },
});
const rounds = Number(values.rounds);
const predictions = Math.max(Number(values.predictions), rounds + 1);
const SIZE = 256;
const RSS_AT = [1, 10, 30].filter((n) => n <= predictions);

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const input = await ballRequest(SIZE);
const body = JSON.stringify({ input });
console.log(
  `bench:server: demo bundle, ${SIZE}x${SIZE}, paper preset (25 steps, 50 + 20 drag iterations), ` +
    `${rounds} alternating rounds, ${predictions} server predictions`,
);
const server = await spawnServer(['--demo']);
try {
  if ((await server.settled()) !== 'READY') throw new Error(`server setup failed:\n${server.log()}`);
  const models = new ModelCache();
  await runEdit(input, { models });

  const roundRatios: number[] = [];
  const requestRatios: number[] = [];
  const servingMs: number[] = [];
  const rss: Record<number, number> = {};
  console.log('prediction  server s  pipeline s  library s');
  const libraryEdit = async () => {
    const started = performance.now();
    await runEdit(input, { models });
    return (performance.now() - started) / 1000;
  };
  for (let n = 1; n <= predictions; n++) {
    const inRound = n >= 2 && n <= rounds + 1;
    // Rounds alternate which runs first, so neither side always follows the other's edit.
    const libraryFirst = inRound && n % 2 === 1 ? await libraryEdit() : undefined;
    const started = performance.now();
    const reply = await send(`${server.url}/predictions`, 'POST', body);
    const answer = JSON.parse(reply.text) as { status: string; metrics: { edit_seconds: number } };
    const wall = (performance.now() - started) / 1000;
    if (answer.status !== 'succeeded')
      throw new Error(`prediction ${n}: ${JSON.stringify(answer).slice(0, 500)}`);
    const pipeline = answer.metrics.edit_seconds;
    requestRatios.push(wall / pipeline);
    servingMs.push((wall - pipeline) * 1000);
    let line = `${String(n).padStart(10)}  ${wall.toFixed(2).padStart(8)}  ${pipeline.toFixed(2).padStart(10)}`;
    if (inRound) {
      const libraryWall = libraryFirst ?? (await libraryEdit());
      roundRatios.push(wall / libraryWall);
      line += `  ${libraryWall.toFixed(2).padStart(9)}${libraryFirst === undefined ? '' : ' (first)'}`;
    }
    if (RSS_AT.includes(n)) {
      rss[n] = await rssMiB(server.process.pid!);
      line += `  (server RSS ${rss[n]!.toFixed(0)} MiB)`;
    }
    console.log(line);
  }
  await models.release();
  console.log(
    `overhead ratio, server vs library (median of ${rounds} rounds): ${median(roundRatios).toFixed(3)} ` +
      `(rounds ${roundRatios.map((r) => r.toFixed(3)).join(', ')}) (target <= 1.02)`,
  );
  console.log(
    `overhead ratio per request, client wall / the server's pipeline time (median of ${predictions}): ` +
      `${median(requestRatios).toFixed(4)}, i.e. ${median(servingMs).toFixed(0)} ms per edit (target <= 1.02)`,
  );
  const at = (n: number) => (rss[n] === undefined ? 'n/a' : rss[n]!.toFixed(0));
  const growth = rss[10] && rss[30] ? `${(((rss[30] - rss[10]) / rss[10]) * 100).toFixed(2)}%` : 'n/a';
  console.log(
    `server RSS after 1 / 10 / 30 predictions: ${at(1)} / ${at(10)} / ${at(30)} MiB; growth 10 -> 30: ${growth} (target < 5%)`,
  );
} finally {
  await server.stop();
}
