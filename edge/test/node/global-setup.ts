/** Starts the Node-side helpers of the edge unit tests and stops them after the run. */
import type { TestProject } from 'vitest/node';
import { startFakeCog } from './fake-cog.ts';
import { startWebhookReceiver } from './webhook-receiver.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cog = await startFakeCog();
  const receiver = await startWebhookReceiver();
  project.provide('fakeCogUrl', cog.url);
  project.provide('receiverUrl', receiver.url);
  return async () => {
    await cog.close();
    await receiver.close();
  };
}
