/** The dispatcher this deployment is configured for (DISPATCH = cog | replicate). */
import type { Config } from '../config.ts';
import { CogDispatcher } from './cog.ts';
import type { Dispatcher } from './dispatcher.ts';
import { ReplicateDispatcher } from './replicate.ts';

export function dispatcherFor(config: Config): Dispatcher {
  return config.dispatch === 'replicate'
    ? new ReplicateDispatcher(config.replicate!)
    : new CogDispatcher(config.cog!.url);
}
