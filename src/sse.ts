/**
 * A parser of server-sent events, fed as bytes arrive (no imports: jest tests it).
 */

/** One server-sent event. */
export interface ISSEvent {
  event: string;
  data: any;
}

/**
 * Split a server-sent event stream into events as bytes arrive: feed each
 * decoded chunk, get back the events it completed.
 */
export class SSEParser {
  private _buffer = '';

  feed(chunk: string): ISSEvent[] {
    this._buffer += chunk.replace(/\r\n/g, '\n');
    const events: ISSEvent[] = [];
    let end: number;
    while ((end = this._buffer.indexOf('\n\n')) >= 0) {
      const block = this._buffer.slice(0, end);
      this._buffer = this._buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) {
          event = line.slice(6).trim();
        } else if (line.startsWith('data:')) {
          data.push(line.slice(5).replace(/^ /, ''));
        }
      }
      if (!data.length) {
        continue;
      }
      const raw = data.join('\n');
      let parsed: any = raw;
      try {
        parsed = JSON.parse(raw);
      } catch {
        // keep the raw text
      }
      events.push({ event, data: parsed });
    }
    return events;
  }
}
