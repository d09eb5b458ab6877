/**
 * The edge's bindings and settings. Every setting is a Workers variable or secret, read and
 * checked here once per isolate so a wrong value fails loudly with its name, not deep in a route.
 * edge/README.md documents each one.
 */
import type { EditObject } from './edits/edit-object.ts';

export interface Env {
  readonly DB: D1Database;
  readonly EDITS: DurableObjectNamespace<EditObject>;
  readonly FILES?: R2Bucket;
  readonly [setting: string]: unknown;
}

/** Seconds between webhook delivery attempts after a failure (Standard Webhooks' example schedule). */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_S = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400];

export interface S3Settings {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface CogSettings {
  /** Base URL of the Cog-compatible server (`npx dragflow serve`). */
  readonly url: string;
  /** Bearer token the server sends with its webhooks (its WEBHOOK_AUTH_TOKEN), when set. */
  readonly webhookToken: string | undefined;
}

export interface ReplicateSettings {
  readonly apiToken: string;
  readonly baseUrl: string | undefined;
  /** `owner/name` (latest version) or a version id. */
  readonly model: string | undefined;
  readonly version: string | undefined;
  /** The whsec_ secret Replicate signs its webhooks with. */
  readonly webhookSecret: string;
}

export interface Config {
  /** Base URL the edge is reached at; callbacks and signed file URLs are built on it. */
  readonly publicUrl: string | undefined;
  readonly storage: 'r2' | 's3';
  readonly s3: S3Settings | undefined;
  readonly dispatch: 'cog' | 'replicate';
  readonly cog: CogSettings | undefined;
  readonly replicate: ReplicateSettings | undefined;
  /** Token that authorises `/admin/*`; the admin routes answer 404 when it is unset. */
  readonly adminToken: string | undefined;
  /** Path secret the GPU function's --upload-url carries; uploads without it are refused. */
  readonly gpuUploadToken: string | undefined;
  /** HMAC key of the edge's own signed file URLs (R2 store) and per-edit callback secrets. */
  readonly signingSecret: string;
  /** Local development: http and loopback hosts allowed for image, webhook and GPU URLs. */
  readonly allowLoopbackUrls: boolean;
  readonly webhookRetryScheduleS: readonly number[];
  /** Seconds between two edit.progress webhooks of one edit. */
  readonly progressWebhookIntervalS: number;
  /** Seconds a dispatched edit may wait for the GPU function's first word. */
  readonly startTimeoutS: number;
  /** Seconds a running edit may stay silent before it counts as lost. */
  readonly silenceTimeoutS: number;
  /** Seconds an edit may run in all. */
  readonly maxRunTimeS: number;
  /** Seconds signed result URLs stay valid. */
  readonly resultUrlTtlS: number;
  /** Requests per minute per API key unless the key sets its own. */
  readonly defaultRateLimitPerMinute: number;
}

export class ConfigError extends Error {}

function text(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new ConfigError(`setting ${name} must be a string`);
  return value;
}

function required(env: Env, name: string, why: string): string {
  const value = text(env, name);
  if (value === undefined) throw new ConfigError(`setting ${name} is required ${why}`);
  return value;
}

function seconds(env: Env, name: string, fallback: number): number {
  const value = text(env, name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new ConfigError(
      `setting ${name} must be a positive number of seconds, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = text(env, name) ?? fallback;
  if (!allowed.includes(value as T)) {
    throw new ConfigError(
      `setting ${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

function schedule(env: Env): number[] {
  const value = text(env, 'WEBHOOK_RETRY_SCHEDULE_S');
  if (value === undefined) return DEFAULT_WEBHOOK_RETRY_SCHEDULE_S;
  const steps = value.split(',').map((part) => Number(part.trim()));
  if (steps.length === 0 || steps.some((step) => !Number.isFinite(step) || step <= 0)) {
    throw new ConfigError(`setting WEBHOOK_RETRY_SCHEDULE_S must list positive seconds, got ${value}`);
  }
  return steps;
}

export function readConfig(env: Env): Config {
  const storage = oneOf(env, 'STORAGE', ['r2', 's3'], 'r2');
  const dispatch = oneOf(env, 'DISPATCH', ['cog', 'replicate'], 'cog');
  const s3 =
    storage === 's3'
      ? {
          endpoint: required(env, 'S3_ENDPOINT', 'with STORAGE=s3'),
          region: text(env, 'S3_REGION') ?? 'us-east-1',
          bucket: required(env, 'S3_BUCKET', 'with STORAGE=s3'),
          accessKeyId: required(env, 'S3_ACCESS_KEY_ID', 'with STORAGE=s3'),
          secretAccessKey: required(env, 'S3_SECRET_ACCESS_KEY', 'with STORAGE=s3'),
        }
      : undefined;
  const cog =
    dispatch === 'cog'
      ? { url: required(env, 'COG_URL', 'with DISPATCH=cog'), webhookToken: text(env, 'COG_WEBHOOK_TOKEN') }
      : undefined;
  const replicate =
    dispatch === 'replicate'
      ? {
          apiToken: required(env, 'REPLICATE_API_TOKEN', 'with DISPATCH=replicate'),
          baseUrl: text(env, 'REPLICATE_BASE_URL'),
          model: text(env, 'REPLICATE_MODEL'),
          version: text(env, 'REPLICATE_VERSION'),
          webhookSecret: required(env, 'REPLICATE_WEBHOOK_SECRET', 'with DISPATCH=replicate'),
        }
      : undefined;
  if (replicate && (replicate.model === undefined) === (replicate.version === undefined)) {
    throw new ConfigError(
      'exactly one of REPLICATE_MODEL and REPLICATE_VERSION is required with DISPATCH=replicate',
    );
  }
  return {
    publicUrl: text(env, 'PUBLIC_URL')?.replace(/\/+$/, ''),
    storage,
    s3,
    dispatch,
    cog,
    replicate,
    adminToken: text(env, 'ADMIN_TOKEN'),
    gpuUploadToken: text(env, 'GPU_UPLOAD_TOKEN'),
    signingSecret: required(env, 'SIGNING_SECRET', '(a long random string; see edge/README.md)'),
    allowLoopbackUrls: text(env, 'ALLOW_LOOPBACK_URLS') === '1',
    webhookRetryScheduleS: schedule(env),
    progressWebhookIntervalS: seconds(env, 'PROGRESS_WEBHOOK_INTERVAL_S', 5),
    startTimeoutS: seconds(env, 'START_TIMEOUT_S', 600),
    silenceTimeoutS: seconds(env, 'SILENCE_TIMEOUT_S', 300),
    maxRunTimeS: seconds(env, 'MAX_RUN_TIME_S', 3600),
    resultUrlTtlS: seconds(env, 'RESULT_URL_TTL_S', 3600),
    defaultRateLimitPerMinute: seconds(env, 'RATE_LIMIT_PER_MINUTE', 120),
  };
}

const cache = new WeakMap<Env, Config>();

/** The checked settings of this environment (cached per env object). */
export function configOf(env: Env): Config {
  let config = cache.get(env);
  if (!config) {
    config = readConfig(env);
    cache.set(env, config);
  }
  return config;
}
