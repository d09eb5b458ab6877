/**
 * Bundle sizes behind the storage decision (edge/README.md): a minimal Worker doing put, get and
 * presigned GET/PUT with @aws-sdk/client-s3 (+ its presigner, + the @xmldom/xmldom DOMParser it
 * needs in workerd when installed) and the same with aws4fetch, each with Hono, bundled by esbuild
 * for workerd (minified, ESM). Run: npx tsx edge/scripts/storage-bundle-size.ts
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);

const ENTRIES: Record<string, string> = {
  'aws4fetch + hono': `
    import { Hono } from 'hono';
    import { AwsClient } from 'aws4fetch';
    const app = new Hono();
    app.get('/', async (c) => {
      const s3 = new AwsClient({ accessKeyId: 'a', secretAccessKey: 'b', service: 's3', region: 'us-east-1' });
      await s3.fetch('https://s3.example/b/k', { method: 'PUT', body: 'x' });
      const got = await s3.fetch('https://s3.example/b/k');
      const signed = await s3.sign('https://s3.example/b/k?X-Amz-Expires=60', { aws: { signQuery: true } });
      return c.text(String(got.status) + signed.url);
    });
    export default app;`,
  '@aws-sdk/client-s3 + presigner + hono': `
    import { Hono } from 'hono';
    import { S3Client, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
    import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
    const app = new Hono();
    app.get('/', async (c) => {
      const s3 = new S3Client({ region: 'us-east-1', endpoint: 'https://s3.example', forcePathStyle: true,
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
      await s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' }));
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'b', Key: 'k' }), { expiresIn: 60 });
      return c.text(String(got.ContentLength) + url);
    });
    export default app;`,
};

function hasXmldom(): boolean {
  try {
    require.resolve('@xmldom/xmldom');
    return true;
  } catch {
    return false;
  }
}

const dir = await mkdtemp(join(tmpdir(), 'storage-bundle-'));
try {
  const entries = { ...ENTRIES };
  if (hasXmldom()) {
    entries['@aws-sdk/client-s3 + presigner + xmldom + hono'] = `import { DOMParser } from '@xmldom/xmldom';
      globalThis.DOMParser = DOMParser;\n${ENTRIES['@aws-sdk/client-s3 + presigner + hono']}`;
  }
  for (const [name, source] of Object.entries(entries)) {
    const input = join(dir, 'entry.ts');
    const output = join(dir, 'out.js');
    await writeFile(input, source);
    await build({
      entryPoints: [input],
      outfile: output,
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'neutral',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['browser', 'module', 'main'],
      nodePaths: [join(import.meta.dirname, '../../node_modules')],
      external: ['node:*'],
      logLevel: 'error',
    });
    const bytes = await readFile(output);
    const kib = (n: number) => (n / 1024).toFixed(0);
    console.log(
      `${name}: ${kib(bytes.byteLength)} KiB minified, ${kib(gzipSync(bytes).byteLength)} KiB gzipped`,
    );
  }
  if (!hasXmldom()) console.log('(@xmldom/xmldom not installed: the DOMParser fix is not measured)');
} finally {
  await rm(dir, { recursive: true, force: true });
}
