/**
 * The S3 store (aws4fetch) inside workerd against a real S3-compatible server (Ceph radosgw on
 * loopback, which verifies SigV4 and presigned URLs): bytes, ranges, missing keys, wrong
 * credentials, presigned GET and PUT, and their expiry and tampering.
 */
import { AwsClient } from 'aws4fetch';
import { describe, expect, inject, it } from 'vitest';
import { readAll, StorageError } from '../../src/storage/object-store.ts';
import { S3Store } from '../../src/storage/s3-store.ts';

const settings = inject('s3');
const store = new S3Store(settings);
const bytes = new Uint8Array(300_000).map((_, i) => (i * 31) % 251);

describe('S3 store on radosgw', () => {
  it('stores and reads bytes exactly, whole and by range, with the content type', async () => {
    await store.put('t/a.bin', bytes, { contentType: 'image/png', length: bytes.byteLength });
    const whole = await store.get('t/a.bin');
    expect(whole?.contentType).toBe('image/png');
    expect(whole?.size).toBe(300_000);
    expect(await readAll(whole!)).toEqual(bytes);
    const part = await store.get('t/a.bin', { offset: 1000, length: 64 });
    expect(part?.size).toBe(300_000);
    expect(await readAll(part!)).toEqual(bytes.subarray(1000, 1064));
    expect(await store.head('t/a.bin')).toEqual({ size: 300_000, contentType: 'image/png' });
    const streamed = new Response(bytes.subarray(0, 5000)).body!;
    await store.put('t/streamed.bin', streamed, { contentType: 'application/json', length: 5000 });
    expect(await readAll((await store.get('t/streamed.bin'))!)).toEqual(bytes.subarray(0, 5000));
  });

  it('answers a missing key with null and deletes idempotently', async () => {
    expect(await store.get('t/none')).toBeNull();
    expect(await store.head('t/none')).toBeNull();
    await store.put('t/gone', bytes.subarray(0, 10), { contentType: 'image/png', length: 10 });
    await store.delete('t/gone');
    await store.delete('t/gone');
    expect(await store.head('t/gone')).toBeNull();
  });

  it('reports the server error code for wrong credentials', async () => {
    const wrong = new S3Store({ ...settings, secretAccessKey: 'x'.repeat(40) });
    const error = await wrong
      .put('t/x', bytes.subarray(0, 4), { contentType: 'image/png', length: 4 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect([error.status, error.code, error.message]).toEqual([
      403,
      'SignatureDoesNotMatch',
      'S3 PUT t/x answered 403 SignatureDoesNotMatch',
    ]);
    const unknown = new S3Store({ ...settings, accessKeyId: 'AKIANOTAREALKEY00000' });
    const denied = await unknown.get('t/a.bin').catch((e) => e);
    expect([denied.status, denied.code]).toEqual([403, 'InvalidAccessKeyId']);
  });

  it('presigns GET and PUT URLs without checksum parameters; others cannot reuse them', async () => {
    await store.put('t/p.bin', bytes.subarray(0, 100), { contentType: 'image/png', length: 100 });
    const get = await store.signedGetUrl('t/p.bin', 600);
    expect(new URL(get).searchParams.get('X-Amz-Expires')).toBe('600');
    expect(
      [...new URL(get).searchParams.keys()].filter((key) => key.toLowerCase().includes('checksum')),
    ).toEqual([]);
    const fetched = await fetch(get);
    expect(fetched.status).toBe(200);
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(bytes.subarray(0, 100));

    const put = await store.signedPutUrl('t/put.bin', 600);
    expect(
      [...new URL(put).searchParams.keys()].filter((key) => key.toLowerCase().includes('checksum')),
    ).toEqual([]);
    const uploaded = await fetch(put, {
      method: 'PUT',
      body: bytes.subarray(0, 77),
      headers: { 'content-type': 'image/webp' },
    });
    expect(uploaded.status).toBe(200);
    expect(await store.head('t/put.bin')).toEqual({ size: 77, contentType: 'image/webp' });

    // The PUT URL does not GET, and a changed key or expiry breaks the signature.
    expect((await fetch(put)).status).toBe(403);
    const otherKey = get.replace('/t/p.bin?', '/t/a.bin?');
    expect((await fetch(otherKey)).status).toBe(403);
    const longer = new URL(get);
    longer.searchParams.set('X-Amz-Expires', '604800');
    expect((await fetch(longer)).status).toBe(403);
  });

  it('refuses an expired presigned URL (signed two hours ago, valid one)', async () => {
    const client = new AwsClient({ ...settings, service: 's3', retries: 0 });
    const url = new URL(`${settings.endpoint}/${settings.bucket}/t/p.bin`);
    url.searchParams.set('X-Amz-Expires', '3600');
    const twoHoursAgo = new Date(Date.now() - 7200_000).toISOString().replace(/[:-]|\.\d{3}/g, '');
    const signed = await client.sign(url.toString(), {
      method: 'GET',
      aws: { signQuery: true, datetime: twoHoursAgo },
    });
    const response = await fetch(signed.url);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>AccessDenied</Code>');
  });
});
