/**
 * The evidence behind the storage decision (edge/README.md): @aws-sdk/client-s3 inside workerd
 * against the same radosgw, next to what the aws4fetch store does in s3-store.s3.test.ts.
 * Each expectation records a behaviour as observed, not a wish.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, inject, it } from 'vitest';

const settings = inject('s3');

function client(checksums: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED'): S3Client {
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
  });
}

const checksumParams = (url: string) =>
  [...new URL(url).searchParams.keys()].filter((key) => key.toLowerCase().includes('checksum')).sort();

describe('@aws-sdk/client-s3 inside workerd', () => {
  it('puts and gets bytes', async () => {
    const s3 = client('WHEN_REQUIRED');
    await s3.send(
      new PutObjectCommand({
        Bucket: settings.bucket,
        Key: 'choice/a',
        Body: 'hello',
        ContentType: 'text/plain',
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: settings.bucket, Key: 'choice/a' }));
    expect(await got.Body!.transformToString()).toBe('hello');
  });

  it('puts the CRC32 of an empty body into presigned PUT URLs unless checksums are WHEN_REQUIRED', async () => {
    const command = new PutObjectCommand({ Bucket: settings.bucket, Key: 'choice/p' });
    const defaults = await getSignedUrl(client('WHEN_SUPPORTED'), command, { expiresIn: 600 });
    expect(checksumParams(defaults)).toEqual(['x-amz-checksum-crc32', 'x-amz-sdk-checksum-algorithm']);
    expect(new URL(defaults).searchParams.get('x-amz-checksum-crc32')).toBe('AAAAAA==');
    const required = await getSignedUrl(client('WHEN_REQUIRED'), command, { expiresIn: 600 });
    expect(checksumParams(required)).toEqual([]);
  });

  it('cannot read any XML answer without a DOMParser: a missing key and a listing both throw ReferenceError', async () => {
    const s3 = client('WHEN_REQUIRED');
    const missing = await s3
      .send(new GetObjectCommand({ Bucket: settings.bucket, Key: 'choice/none' }))
      .catch((e) => e);
    const deserialization =
      'DOMParser is not defined\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.';
    expect([missing.name, missing.message]).toEqual(['ReferenceError', deserialization]);
    expect(missing.$response.statusCode).toBe(404);
    const listing = await s3
      .send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: 'choice/' }))
      .catch((e) => e);
    expect([listing.name, listing.message]).toEqual(['ReferenceError', deserialization]);
    expect(listing.$response.statusCode).toBe(200);
  });
});
