/** The labelled fake of Replicate's HTTP API for the edge-replicate project (nothing runs; tests drive it). */
import type { TestProject } from 'vitest/node';
import { startFakeReplicate } from './fake-replicate.ts';

export const FAKE_REPLICATE_TOKEN = 'r8_fake_token_for_tests';
export const FAKE_REPLICATE_SECRET = 'whsec_ZmFrZS1yZXBsaWNhdGUtd2ViaG9vay1zZWNyZXQ=';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fake = await startFakeReplicate({
    token: FAKE_REPLICATE_TOKEN,
    webhookSecret: FAKE_REPLICATE_SECRET,
  });
  project.provide('fakeReplicateUrl', fake.url);
  return () => fake.close();
}
