// @ts-check
/**
 * The public API as the playground uses it: uploads, submitting an edit, and following its event
 * stream (resuming with Last-Event-ID when the connection drops before the edit ends).
 */
import { SseParser } from './sse.js';

/** @typedef {import('./errors.js').ApiErrorBody} ApiErrorBody */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {ApiErrorBody} body
   */
  constructor(status, body) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

/** Edit statuses after which nothing changes. */
export const FINAL_STATUSES = ['succeeded', 'failed', 'canceled'];
/** Pause before reconnecting a dropped event stream. */
const RECONNECT_MS = 1000;

export class Api {
  /**
   * @param {string} origin e.g. http://127.0.0.1:8787
   * @param {() => string} key the API key in use
   */
  constructor(origin, key) {
    this.origin = origin;
    this.base = `${origin}/v1`;
    this.key = key;
  }

  /**
   * @param {string} path under /v1, or an absolute URL the API handed out
   * @param {RequestInit} init
   * @returns {Promise<any>}
   */
  async call(path, init = {}) {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${this.key()}`);
    const response = await fetch(url, { ...init, headers });
    const text = await response.text();
    /** @type {any} */
    let body;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = {
        code: 'internal',
        message: `the API answered ${response.status} with a body that is not JSON`,
      };
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  /** @returns {Promise<any>} */
  openApi() {
    return fetch(`${this.base}/openapi.json`).then((response) => {
      if (!response.ok) throw new Error(`GET /v1/openapi.json answered ${response.status}`);
      return response.json();
    });
  }

  /** @returns {Promise<{ available_credits: number, held_credits: number }>} */
  usage() {
    return this.call('/usage');
  }

  /**
   * Uploads image bytes; resolves with the upload id.
   * @param {Blob} blob
   * @returns {Promise<string>}
   */
  async upload(blob) {
    const upload = await this.call('/uploads', {
      method: 'POST',
      headers: { 'content-type': blob.type },
      body: blob,
    });
    return upload.id;
  }

  /**
   * @param {Record<string, unknown>} request
   * @returns {Promise<any>} the accepted edit
   */
  submit(request) {
    return this.call('/edits', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  }

  /**
   * Calls `onEvent` with every event of the edit until its final status event.
   * @param {string} eventsUrl the edit's urls.events
   * @param {(type: string, data: any) => void} onEvent
   * @param {AbortSignal} signal
   */
  async follow(eventsUrl, onEvent, signal) {
    const parser = new SseParser();
    let finished = false;
    while (!finished && !signal.aborted) {
      try {
        const response = await fetch(eventsUrl, {
          headers: { authorization: `Bearer ${this.key()}`, 'last-event-id': parser.lastEventId || '0' },
          signal,
        });
        if (!response.ok || !response.body) {
          throw new ApiError(response.status, await response.json());
        }
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.feed(value)) {
            const data = JSON.parse(event.data);
            onEvent(event.event, data);
            if (event.event === 'status' && FINAL_STATUSES.includes(data.status)) finished = true;
          }
        }
      } catch (error) {
        if (error instanceof ApiError || signal.aborted) throw error;
        // The connection dropped: resume after the last event seen.
      }
      if (!finished && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }
}
