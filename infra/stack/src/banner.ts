/**
 * What `npm start` prints once everything is up: where the playground and the API are, the local
 * key, and a first API call that works when pasted into a shell as printed. Each line starts with
 * a fixed label, so scripts (and the stack's own test) can read the values.
 */

export interface BannerFacts {
  readonly edgeUrl: string;
  readonly gpuUrl: string;
  readonly apiKey: string;
  readonly credits: number;
  readonly storage: 'r2' | 's3';
  /** Whether the GPU function serves the embedded demo bundle (no generative prior). */
  readonly demoBundle: boolean;
}

/** The sample photo the first call edits (served by the edge with the playground). */
export const FIRST_EDIT_SAMPLE = '/samples/coffee.png';

/**
 * The first edit: move the cup of the 384x256 sample 48 px to the right. Short schedule and few
 * iterations, so it finishes in seconds on a CPU; without `options` the paper preset runs.
 */
export function firstEditRequest(edgeUrl: string): Record<string, unknown> {
  return {
    image: { url: `${edgeUrl}${FIRST_EDIT_SAMPLE}` },
    operations: [
      {
        kind: 'relocate',
        source: {
          polygons: [
            [
              [112, 14],
              [262, 14],
              [262, 192],
              [112, 192],
            ],
          ],
        },
        target: [235, 103],
      },
    ],
    options: { steps: 4, skip_steps: 2, transport_iterations: 6, intensify_iterations: 2 },
  };
}

/** Wraps a string in single quotes for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

export function firstEditCurl(edgeUrl: string, apiKey: string): string {
  return [
    'curl -sS',
    shellQuote(`${edgeUrl}/v1/edits`),
    '-H',
    shellQuote(`Authorization: Bearer ${apiKey}`),
    '-H',
    shellQuote('Content-Type: application/json'),
    '-d',
    shellQuote(JSON.stringify(firstEditRequest(edgeUrl))),
  ].join(' ');
}

export function eventsCurl(edgeUrl: string, apiKey: string): string {
  return [
    'curl -sSN',
    '-H',
    shellQuote(`Authorization: Bearer ${apiKey}`),
    shellQuote(`${edgeUrl}/v1/edits/<id>/events`),
  ].join(' ');
}

export function banner(facts: BannerFacts): string {
  const { edgeUrl, apiKey } = facts;
  const store =
    facts.storage === 's3' ? 'S3-compatible server (S3_ENDPOINT)' : 'local R2 simulated by Miniflare';
  const model = facts.demoBundle ? 'demo bundle: no generative prior' : 'bundle from DRAGFLOW_BUNDLE';
  return [
    '',
    'dragflow is running locally',
    `  playground  ${edgeUrl}/#key=${apiKey}`,
    `  api         ${edgeUrl}/v1`,
    `  docs        ${edgeUrl}/docs`,
    `  key         ${apiKey}`,
    `  credits     ${facts.credits}`,
    `  gpu         ${facts.gpuUrl} (${model})`,
    `  storage     ${store}`,
    '',
    'First API call (moves the cup in the sample photo; answers with the edit and its urls):',
    `  curl        ${firstEditCurl(edgeUrl, apiKey)}`,
    'Follow its progress live (put the id it printed in place of <id>):',
    `  events      ${eventsCurl(edgeUrl, apiKey)}`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}
