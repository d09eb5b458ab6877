/**
 * Uploads: direct bytes and signed PUT URLs (through the edge's /files route with the R2 store),
 * then used in an edit, whose header check runs on first use; image URLs fetched under the
 * outbound policy; the GPU function's upload route; per-key rate limits.
 */
import { env } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { dataUri, pngHeader } from '../../shared/test/image-bytes.ts';
import { api, call, editRequest, json, newAccount } from './support/api.ts';
import { waitForDispatch } from './support/gpu.ts';

interface Upload {
  id: string;
  status: string;
  content_type: string;
  bytes: number | null;
  width: number | null;
  height: number | null;
  upload_url?: string;
  upload_headers?: Record<string, string>;
}

function pathOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

describe('uploads', () => {
  it('takes image bytes, checks them, and feeds them to an edit as a signed URL', async () => {
    const account = await newAccount();
    const bytes = pngHeader(320, 200);
    const response = await api(account, 'POST', '/v1/uploads', bytes, { 'content-type': 'image/png' });
    expect(response.status).toBe(201);
    const upload = await json<Upload>(response);
    expect(upload).toMatchObject({
      status: 'ready',
      content_type: 'image/png',
      bytes: 33,
      width: 320,
      height: 200,
    });
    expect(upload.id).toMatch(/^up_[A-Za-z0-9_-]{20}$/);
    expect(await json(await api(account, 'GET', `/v1/uploads/${upload.id}`))).toMatchObject({
      id: upload.id,
      width: 320,
    });

    const edit = await api(account, 'POST', '/v1/edits', editRequest({ image: { upload: upload.id } }));
    expect(edit.status).toBe(202);
    const { id } = await json<{ id: string }>(edit);
    const gpu = await waitForDispatch(id);
    const image = gpu.input.image as { url: string };
    expect(image.url).toMatch(
      new RegExp(`^http://edge.test/files/uploads/${account.id}/${upload.id}\\?expires=`),
    );
    expect(new Uint8Array(await (await call(pathOf(image.url))).arrayBuffer())).toEqual(bytes);
    // The 320x200 size from the upload is what the contract checked against.
    const outside = await api(
      account,
      'POST',
      '/v1/edits',
      editRequest({
        image: { upload: upload.id },
        operations: [
          {
            kind: 'relocate',
            source: {
              polygons: [
                [
                  [1, 1],
                  [9, 1],
                  [9, 9],
                ],
              ],
            },
            target: [300, 250],
          },
        ],
      }),
    );
    expect(await json(outside)).toEqual({
      code: 'coordinate_outside_image',
      message:
        'operations[0].target: point (300, 250) lies outside the 320x200 image (x in [0, 320], y in [0, 200])',
      details: expect.anything(),
    });
  });

  it('hands out a signed PUT URL; an edit before the bytes arrive is 409, after it runs', async () => {
    const account = await newAccount();
    const response = await api(account, 'POST', '/v1/uploads', { content_type: 'image/png' });
    expect(response.status).toBe(201);
    const upload = await json<Upload>(response);
    expect(upload).toMatchObject({
      status: 'pending',
      bytes: null,
      upload_headers: { 'content-type': 'image/png' },
    });
    const early = await api(account, 'POST', '/v1/edits', editRequest({ image: { upload: upload.id } }));
    expect(early.status).toBe(409);
    expect(await json(early)).toMatchObject({
      code: 'upload_incomplete',
      message: `image: upload ${upload.id} has not received its bytes yet`,
    });
    const put = await call(pathOf(upload.upload_url!), {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: pngHeader(256, 256),
    });
    expect(put.status).toBe(200);
    // The signed URL is for PUT on this key only.
    expect((await call(pathOf(upload.upload_url!))).status).toBe(401);
    const edit = await api(account, 'POST', '/v1/edits', editRequest({ image: { upload: upload.id } }));
    expect(edit.status).toBe(202);
    expect(await json(await api(account, 'GET', `/v1/uploads/${upload.id}`))).toMatchObject({
      status: 'ready',
      bytes: 33,
      width: 256,
      height: 256,
    });
  });

  it("does not let one account use another's upload", async () => {
    const owner = await newAccount();
    const other = await newAccount();
    const upload = await json<Upload>(
      await api(owner, 'POST', '/v1/uploads', pngHeader(256, 256), { 'content-type': 'image/png' }),
    );
    const response = await api(other, 'POST', '/v1/edits', editRequest({ image: { upload: upload.id } }));
    expect(response.status).toBe(404);
    expect((await json(response)).message).toBe(`image.upload: no upload ${upload.id} in this account`);
    expect((await api(other, 'GET', `/v1/uploads/${upload.id}`)).status).toBe(404);
  });
});

describe('image URLs', () => {
  it('fetches an image URL (loopback allowed by the local switch) and refuses a redirect to a private address', async () => {
    const account = await newAccount();
    const receiver = inject('receiverUrl');
    // The receiver serves nothing at /img: a 404 from the image host is image_unreadable.
    const missing = await api(
      account,
      'POST',
      '/v1/edits',
      editRequest({ image: { url: `${receiver}/img/a.png` } }),
    );
    expect(await json(missing)).toMatchObject({
      code: 'image_unreadable',
      message: 'image.url: URL answered HTTP 404',
    });
    const edit = await api(
      account,
      'POST',
      '/v1/edits',
      editRequest({ image: { url: `${inject('fakeCogUrl')}/_calls` } }),
    );
    expect(await json(edit)).toMatchObject({
      code: 'image_unreadable',
      message: 'image: is not a png, jpeg or webp image with a readable header',
    });
    const redirected = await api(
      account,
      'POST',
      '/v1/edits',
      editRequest({
        image: { url: `${receiver}/redirect?to=${encodeURIComponent('https://10.0.0.7/a.png')}` },
      }),
    );
    expect(await json(redirected)).toMatchObject({
      code: 'address_not_allowed',
      message:
        'image.url: URL redirects to a URL that points at 10.0.0.7, a private address; only public hosts are allowed',
    });
    const metadata = await api(
      account,
      'POST',
      '/v1/edits',
      editRequest({ image: { url: 'http://169.254.169.254/x.png' } }),
    );
    expect(await json(metadata)).toMatchObject({ code: 'invalid_url' });
  });
});

describe('GPU upload route', () => {
  it('stores output files only with the upload token and an output type', async () => {
    const token = env.GPU_UPLOAD_TOKEN as string;
    const png = dataUri('image/png', pngHeader(64, 64));
    expect(png.length).toBeGreaterThan(0);
    const cases: [string, Record<string, string>, number, string][] = [
      [`/internal/gpu-uploads/${token}/out.png`, { 'content-type': 'image/png' }, 201, ''],
      [`/internal/gpu-uploads/wrong-token/out.png`, { 'content-type': 'image/png' }, 401, 'unauthorized'],
      [
        `/internal/gpu-uploads/${token}/out.exe`,
        { 'content-type': 'application/x-msdownload' },
        415,
        'unsupported_media_type',
      ],
      [
        `/internal/gpu-uploads/${token}/bad%20name.png`,
        { 'content-type': 'image/png' },
        422,
        'invalid_value',
      ],
    ];
    for (const [path, headers, status, code] of cases) {
      const response = await call(path, { method: 'PUT', headers, body: pngHeader(64, 64) });
      expect([path, response.status]).toEqual([path, status]);
      if (code) expect((await json(response)).code).toBe(code);
      else
        expect(response.headers.get('location')).toMatch(
          /^http:\/\/edge\.test\/internal\/gpu-objects\/[A-Za-z0-9_-]{16}\/out\.png$/,
        );
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After once a key passes its per-minute limit', async () => {
    const account = await newAccount(100, 5);
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 7; i++) {
      const response = await api(account, 'GET', '/v1/usage');
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    // Five in the window, then refused (a window boundary in between resets the count once).
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(1);
    const retryAfter = Number(limited!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await json(limited!)).toEqual({
      code: 'rate_limited',
      message: `more than 5 requests in one minute for this API key; retry in ${retryAfter} s`,
    });
    expect(limited!.headers.get('x-ratelimit-remaining')).toBe('0');
  });
});
