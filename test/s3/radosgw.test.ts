// The local S3 server is a real one: SigV4 and presigned URLs are verified like S3, and stop()
// leaves nothing behind. Needs the Ceph packages (infra/s3/install.sh; .ci/run calls it).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Radosgw, startRadosgw } from '../../infra/s3/radosgw.ts';

const BUCKET = 'dragflow-test';
let s3: Radosgw;

beforeAll(async () => {
  const t0 = performance.now();
  s3 = await startRadosgw();
  const seconds = (performance.now() - t0) / 1000;
  const rss = await s3.rssBytes();
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(
    `radosgw ready at ${s3.endpoint} in ${seconds.toFixed(2)} s; RSS MiB mon ${mib(rss.mon)}, osd ${mib(rss.osd)}, ` +
      `rgw ${mib(rss.rgw)}, total ${mib(rss.mon + rss.osd + rss.rgw)}`,
  );
  await s3.createBucket(BUCKET);
}, 300_000);

afterAll(async () => {
  await s3?.stop();
});

/** The S3 error a call failed with: its code and HTTP status. */
async function s3Error(call: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof S3ServiceException) {
      return { name: error.name, status: error.$metadata.httpStatusCode };
    }
    throw error;
  }
  throw new Error('the call succeeded');
}

/** Status and S3 error code of a raw HTTP response (radosgw answers errors in XML). */
async function httpError(response: Response): Promise<{ status: number; code: string | undefined }> {
  const body = await response.text();
  return { status: response.status, code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1] };
}

describe('local S3 server (Ceph radosgw)', () => {
  it('binds every daemon to 127.0.0.1 only', () => {
    const listening = listeningOf(Object.values(s3.pids));
    expect(listening.length).toBeGreaterThanOrEqual(3); // monitor, OSD messenger, S3
    for (const { address } of listening) expect(address).toBe('127.0.0.1');
    expect(listening.map((l) => l.port)).toContain(Number(new URL(s3.endpoint).port));
  });

  it('stores and returns an object byte for byte', async () => {
    const body = randomBytes(300_000);
    const put = await s3
      .client()
      .send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'images/a.bin', Body: body, ContentType: 'image/png' }),
      );
    expect(put.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    const got = await s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'images/a.bin' }));
    expect(got.ContentType).toBe('image/png');
    expect(got.ContentLength).toBe(body.length);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('refuses a request signed with a wrong secret: 403 SignatureDoesNotMatch', async () => {
    const wrong = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: `${s3.secretAccessKey.slice(0, -1)}x` },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const put = new PutObjectCommand({ Bucket: BUCKET, Key: 'wrong.txt', Body: 'no' });
    expect(await s3Error(wrong.send(put))).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    wrong.destroy();
  });

  it('refuses an unknown access key: 403 InvalidAccessKeyId', async () => {
    const unknown = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: s3.secretAccessKey },
    });
    const get = unknown.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'images/a.bin' }));
    expect(await s3Error(get)).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
    unknown.destroy();
  });

  it('refuses an anonymous read of a private object: 403 AccessDenied', async () => {
    const response = await fetch(`${s3.endpoint}/${BUCKET}/images/a.bin`);
    expect(await httpError(response)).toEqual({ status: 403, code: 'AccessDenied' });
  });

  it('answers a missing key with 404 NoSuchKey', async () => {
    const get = s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'images/none.bin' }));
    expect(await s3Error(get)).toEqual({ name: 'NoSuchKey', status: 404 });
  });

  it('serves a presigned GET URL and stores through a presigned PUT URL', async () => {
    const body = randomBytes(4096);
    const putUrl = await getSignedUrl(
      s3.client(),
      new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned/in.bin', ContentType: 'image/webp' }),
      { expiresIn: 300 },
    );
    const put = await fetch(putUrl, { method: 'PUT', body, headers: { 'content-type': 'image/webp' } });
    expect(put.status).toBe(200);

    const stored = await s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned/in.bin' }));
    expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect(stored.ContentType).toBe('image/webp');

    const getUrl = await getSignedUrl(
      s3.client(),
      new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned/in.bin' }),
      { expiresIn: 300 },
    );
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(body)).toBe(true);
  });

  it('refuses an expired presigned URL: 403', async () => {
    // Signed two hours ago, valid for one hour: expired an hour ago, no waiting involved.
    const signingDate = new Date(Date.now() - 2 * 3600_000);
    const getUrl = await getSignedUrl(
      s3.client(),
      new GetObjectCommand({ Bucket: BUCKET, Key: 'images/a.bin' }),
      { expiresIn: 3600, signingDate },
    );
    expect(await httpError(await fetch(getUrl))).toEqual({ status: 403, code: 'AccessDenied' });

    const putUrl = await getSignedUrl(
      s3.client(),
      new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned/late.bin' }),
      { expiresIn: 3600, signingDate },
    );
    const put = await fetch(putUrl, { method: 'PUT', body: 'late' });
    expect(await httpError(put)).toEqual({ status: 403, code: 'AccessDenied' });
    const late = s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned/late.bin' }));
    expect(await s3Error(late)).toEqual({ name: 'NoSuchKey', status: 404 });
  });

  it('refuses a tampered presigned URL: 403 SignatureDoesNotMatch', async () => {
    const getUrl = await getSignedUrl(
      s3.client(),
      new GetObjectCommand({ Bucket: BUCKET, Key: 'images/a.bin' }),
      { expiresIn: 300 },
    );
    // Another key under the same signature.
    const otherKey = getUrl.replace('/images/a.bin?', '/presigned/in.bin?');
    expect(otherKey).not.toBe(getUrl);
    expect(await httpError(await fetch(otherKey))).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
    // A longer lifetime under the same signature.
    const longer = getUrl.replace('X-Amz-Expires=300', 'X-Amz-Expires=604800');
    expect(longer).not.toBe(getUrl);
    expect(await httpError(await fetch(longer))).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
    // One signature character changed.
    const url = new URL(getUrl);
    const signature = url.searchParams.get('X-Amz-Signature')!;
    url.searchParams.set(
      'X-Amz-Signature',
      `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`,
    );
    expect(await httpError(await fetch(url))).toEqual({ status: 403, code: 'SignatureDoesNotMatch' });
  });
});

describe('stop()', () => {
  it('leaves no daemon and no listening port', async () => {
    const pids = Object.values(s3.pids);
    const port = Number(new URL(s3.endpoint).port);
    expect(listeningOf(pids).length).toBeGreaterThanOrEqual(3);

    await s3.stop();

    for (const pid of pids) expect(processState(pid)).toMatch(/^(gone|zombie)$/);
    expect(listeningOf(pids)).toEqual([]);
    expect(allListeningPorts()).not.toContain(port);
    expect(await connectError(port)).toBe('ECONNREFUSED');
  });
});

interface Listening {
  address: string;
  port: number;
}

function ssListening(): string[] {
  return execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** Listening TCP sockets owned by the given pids (from `ss -ltnp`). */
function listeningOf(pids: number[]): Listening[] {
  return ssListening()
    .filter((line) => pids.some((pid) => line.includes(`pid=${pid},`)))
    .map((line) => {
      const local = line.split(/\s+/)[3]!;
      const colon = local.lastIndexOf(':');
      return { address: local.slice(0, colon), port: Number(local.slice(colon + 1)) };
    });
}

function allListeningPorts(): number[] {
  return ssListening().map((line) => Number(line.split(/\s+/)[3]!.split(':').at(-1)));
}

/** 'gone', 'zombie' (dead, waiting for init to reap it: holds no memory or socket) or 'alive'. */
function processState(pid: number): 'gone' | 'zombie' | 'alive' {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 'gone';
  }
  return /^State:\s+Z/m.test(status) ? 'zombie' : 'alive';
}

function connectError(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
  });
}
