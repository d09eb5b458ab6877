/**
 * bench:edge: a bounded local load on the edge under `wrangler dev` (workerd, local D1 and
 * Durable Objects, R2): POST /v1/edits that fail validation (the contract and the image header
 * check, answered 422 before any hold) and GET /v1/edits/{id} of one edit. Each run: 8
 * connections for 10 s on loopback. Prints requests per second, p50/p99 latency, errors and
 * answers other than the expected status; exits 1 when there is any.
 * Run: npm run bench:edge
 */
import autocannon from 'autocannon';
import { startLocalEdge } from '../test/node/local-edge.ts';

const ADMIN = 'bench-admin-token';
const DURATION_S = 10;
const CONNECTIONS = 8;
const square = [
  [10, 10],
  [60, 10],
  [60, 60],
  [10, 60],
];
/** A 256x256 PNG header as a data URI: the edge reads headers, it never decodes. */
function png256(): string {
  const bytes = new Uint8Array(33);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  bytes.set([0, 0, 1, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0], 16);
  return `data:image/png;base64,${Buffer.from(bytes).toString('base64')}`;
}
const edit = (target: [number, number]) =>
  JSON.stringify({
    image: { data: png256() },
    operations: [{ kind: 'relocate', source: { polygons: [square] }, target }],
  });

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  unexpected: number;
  total: number;
}

async function load(name: string, options: autocannon.Options, expected: number): Promise<Figures> {
  let unexpected = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { ...options, connections: CONNECTIONS, duration: DURATION_S },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, status) => {
      if (status !== expected) unexpected += 1;
    });
  });
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    unexpected,
    total: result.requests.total,
  };
}

const edge = await startLocalEdge({
  vars: {
    SIGNING_SECRET: 'bench-signing-secret-0123456789abcdef',
    ADMIN_TOKEN: ADMIN,
    COG_URL: 'http://127.0.0.1:9',
  },
});
try {
  const created = await fetch(`${edge.url}/admin/accounts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}` },
    body: JSON.stringify({ name: 'bench', credits: 1000, rate_limit_per_minute: 1_000_000 }),
  });
  const key = ((await created.json()) as { api_key: { key: string } }).api_key.key;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const submitted = await fetch(`${edge.url}/v1/edits`, { method: 'POST', headers, body: edit([150, 120]) });
  if (submitted.status !== 202)
    throw new Error(`setup edit answered ${submitted.status}: ${await submitted.text()}`);
  const { id } = (await submitted.json()) as { id: string };

  const results = [
    // Target outside the 256x256 image: refused by the contract's image check (422).
    await load(
      'POST /v1/edits (422 validation)',
      { url: `${edge.url}/v1/edits`, method: 'POST', headers, body: edit([300, 120]) },
      422,
    ),
    await load('GET /v1/edits/{id} (200)', { url: `${edge.url}/v1/edits/${id}`, headers }, 200),
  ];
  console.log(`bench:edge: wrangler dev on loopback, ${CONNECTIONS} connections x ${DURATION_S} s each`);
  for (const r of results) {
    console.log(
      `${r.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.total} requests, ${r.errors} errors, ${r.unexpected} unexpected statuses`,
    );
  }
  if (results.some((r) => r.errors > 0 || r.unexpected > 0)) process.exitCode = 1;
} finally {
  await edge.stop();
}
