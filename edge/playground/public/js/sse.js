// @ts-check
/**
 * Incremental parser of a text/event-stream body (the HTML standard's event stream format). The
 * playground reads the edit's events with fetch, not EventSource, because the stream needs the
 * Authorization header, which EventSource cannot send.
 */

/** @typedef {{ id: string, event: string, data: string }} SseEvent */

export class SseParser {
  /** Text after the last complete line. */
  #pending = '';
  /** @type {string[]} */
  #data = [];
  #event = '';
  /** The last chunk ended with CR: a LF opening the next one belongs to that line break. */
  #afterCr = false;
  /** The id of the last event, to resume with Last-Event-ID. */
  lastEventId = '';

  /**
   * Feeds the next chunk of text; returns the events it completed, in order.
   * @param {string} chunk
   * @returns {SseEvent[]}
   */
  feed(chunk) {
    /** @type {SseEvent[]} */
    const events = [];
    if (chunk === '') return events;
    // A chunk may end inside a line, or between the CR and LF of one line break.
    const text = this.#pending + (this.#afterCr && chunk.startsWith('\n') ? chunk.slice(1) : chunk);
    this.#afterCr = chunk.endsWith('\r');
    const lines = text.split(/\r\n|\r|\n/);
    this.#pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (this.#data.length > 0) {
          events.push({ id: this.lastEventId, event: this.#event || 'message', data: this.#data.join('\n') });
        }
        this.#data = [];
        this.#event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.#data.push(value);
      else if (field === 'event') this.#event = value;
      else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    }
    return events;
  }
}
