/** A real S3-compatible server (Ceph radosgw on loopback, infra/s3) for the edge's S3 tests. */
import type { TestProject } from 'vitest/node';
import { startRadosgw } from '../../../infra/s3/radosgw.ts';

export const S3_TEST_BUCKET = 'dragflow-edge-test';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startRadosgw();
  try {
    await server.createBucket(S3_TEST_BUCKET);
  } catch (error) {
    await server.stop();
    throw error;
  }
  project.provide('s3', {
    endpoint: server.endpoint,
    region: server.region,
    bucket: S3_TEST_BUCKET,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  });
  return () => server.stop();
}
