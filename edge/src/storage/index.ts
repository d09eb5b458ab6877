/** The store this deployment is configured for (STORAGE = r2 | s3). */
import { type Config, ConfigError, type Env } from '../config.ts';
import { FileUrlSigner } from './file-urls.ts';
import type { ObjectStore } from './object-store.ts';
import { R2Store } from './r2-store.ts';
import { S3Store } from './s3-store.ts';

/** `baseUrl`: where the edge is reached, for the URLs it signs itself. */
export function storeFor(env: Env, config: Config, baseUrl: string): ObjectStore {
  if (config.storage === 's3') return new S3Store(config.s3!);
  if (!env.FILES) throw new ConfigError('STORAGE=r2 needs the FILES R2 bucket binding');
  return new R2Store(env.FILES, new FileUrlSigner(config.signingSecret, baseUrl));
}
