/**
 * The end-to-end stack on loopback, for the edge-e2e project (tests inside workerd drive it over
 * HTTP): a real S3-compatible server (Ceph radosgw), the real GPU function (`dragflow serve
 * --demo`) twice, the edge under wrangler dev twice (DISPATCH=cog and DISPATCH=replicate, both
 * with STORAGE=s3 on radosgw), a labelled fake of Replicate's HTTP API in front of the second GPU
 * function, a customer webhook receiver, and a control server the tests use to kill and restart
 * the first GPU function. Everything is stopped after the run.
 */
import type { TestProject } from 'vitest/node';
import { type Radosgw, startRadosgw } from '../../../infra/s3/radosgw.ts';
import { startFakeReplicate } from './fake-replicate.ts';
import { type GpuServer, startGpuServer } from './gpu-server.ts';
import { listen, sendJson } from './http-json.ts';
import { freePort, type LocalEdge, startLocalEdge } from './local-edge.ts';
import { FAKE_REPLICATE_SECRET, FAKE_REPLICATE_TOKEN } from './replicate-setup.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';

export const E2E_ADMIN_TOKEN = 'e2e-admin-token';
const GPU_UPLOAD_TOKEN = 'e2e-gpu-upload-token';

/** Settings both edges share: the S3 store, loopback allowed, time-outs short enough for a test. */
function commonVars(s3: Radosgw, bucket: string): Record<string, string> {
  return {
    SIGNING_SECRET: 'e2e-signing-secret-0123456789abcdef',
    ADMIN_TOKEN: E2E_ADMIN_TOKEN,
    GPU_UPLOAD_TOKEN,
    ALLOW_LOOPBACK_URLS: '1',
    STORAGE: 's3',
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_BUCKET: bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    // A restarted GPU function needs its setup (about 15 s, more under load) before it answers.
    START_TIMEOUT_S: '300',
    SILENCE_TIMEOUT_S: '45',
    WEBHOOK_RETRY_SCHEDULE_S: '1,1,2,2,3,3',
    PROGRESS_WEBHOOK_INTERVAL_S: '1',
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error: unknown) => console.error('e2e teardown:', error));
  };
  try {
    const edgePort = await freePort();
    const fakePort = await freePort();
    const [s3, receiver, gpu, gpu2] = await Promise.all([
      startRadosgw(),
      startWebhookReceiver(),
      startGpuServer({ uploadUrl: `http://127.0.0.1:${edgePort}/internal/gpu-uploads/${GPU_UPLOAD_TOKEN}` }),
      startGpuServer({ uploadUrl: `http://127.0.0.1:${fakePort}/_files` }),
    ]);
    stops.push(s3.stop, receiver.close, gpu.stop, gpu2.stop);
    await s3.createBucket('dragflow-e2e');
    await s3.createBucket('dragflow-e2e-replicate');
    const fake = await startFakeReplicate({
      token: FAKE_REPLICATE_TOKEN,
      webhookSecret: FAKE_REPLICATE_SECRET,
      cogUrl: gpu2.url,
      port: fakePort,
    });
    stops.push(fake.close);
    const [edge, edgeReplicate] = await Promise.all([
      startLocalEdge({
        port: edgePort,
        vars: {
          ...commonVars(s3, 'dragflow-e2e'),
          PUBLIC_URL: `http://127.0.0.1:${edgePort}`,
          DISPATCH: 'cog',
          COG_URL: gpu.url,
        },
      }),
      freePort().then((port) =>
        startLocalEdge({
          port,
          vars: {
            ...commonVars(s3, 'dragflow-e2e-replicate'),
            PUBLIC_URL: `http://127.0.0.1:${port}`,
            DISPATCH: 'replicate',
            REPLICATE_API_TOKEN: FAKE_REPLICATE_TOKEN,
            REPLICATE_BASE_URL: `${fake.url}/v1`,
            REPLICATE_MODEL: 'dragflow/dragflow-edit',
            REPLICATE_WEBHOOK_SECRET: FAKE_REPLICATE_SECRET,
          },
        }),
      ),
    ]);
    stops.push(edge.stop, edgeReplicate.stop);
    const control = await controlServer(gpu);
    stops.push(control.close);
    project.provide('e2e', {
      edgeUrl: edge.url,
      edgeReplicateUrl: edgeReplicate.url,
      receiverUrl: receiver.url,
      controlUrl: control.url,
      adminToken: E2E_ADMIN_TOKEN,
    });
    return async () => {
      logTail('edge (cog)', edge);
      await teardown();
    };
  } catch (error) {
    await teardown();
    throw error;
  }
}

function logTail(name: string, edge: LocalEdge): void {
  if (process.env.E2E_VERBOSE) console.log(`--- ${name} output ---\n${edge.output()}`);
}

/** POST /gpu/kill (SIGKILL the GPU function), POST /gpu/restart (start it again, same port, until READY). */
function controlServer(gpu: GpuServer) {
  return listen(async (request, response) => {
    if (request.method === 'POST' && request.url === '/gpu/kill') {
      await gpu.kill();
      return sendJson(response, 200, { killed: true });
    }
    if (request.method === 'POST' && request.url === '/gpu/restart') {
      await gpu.restart();
      return sendJson(response, 200, { ready: true });
    }
    sendJson(response, 404, {});
  });
}
