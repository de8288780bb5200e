/**
 * The lifecycle of one streamed request, shared by ghost text, Explain/Ask and
 * Generate: POST with `"stream": true` and a request id, relay each
 * server-sent event, stop (abort the fetch and `POST /cancel` once), and end
 * in one typed outcome: done, stopped, or an error with its status and
 * message. No JupyterLab imports (the transport is given): jest tests it.
 */
import {
  errorFromEvent,
  errorFromResponse,
  IRequestFailure,
  requestFailure
} from './errors';
import { requestErrors, RequestErrors } from './requestErrors';
import { ISSEvent, SSEParser } from './sse';

/** How a streamed request ended. */
export type StreamOutcome =
  | { readonly state: 'done' }
  /** Stopped here (the user, or a newer request): not an error. */
  | { readonly state: 'stopped' }
  | ({ readonly state: 'error' } & Readonly<IRequestFailure>);

/** Where a stream is in its life. */
export type StreamState = 'idle' | 'running' | StreamOutcome['state'];

/** How requests reach the server (api.ts has the Jupyter server's). */
export interface IStreamTransport {
  /** POST `body` (JSON text) to the endpoint; the reply, whatever its status. */
  post(endPoint: string, body: string, signal: AbortSignal): Promise<Response>;
  /** Ask the server to stop the generation with this request id. */
  cancel(requestId: string): Promise<unknown>;
}

/** What one streamed request is. */
export interface IStreamOptions {
  /** The endpoint, e.g. `complete`. */
  endPoint: string;
  /** The request body; the stream sets its `stream` and `request_id`. */
  body: object;
  /** The id that `POST /cancel` names. */
  requestId: string;
  /** Each event except `error` (which ends the stream as an error). */
  onEvent: (event: ISSEvent) => void;
  /**
   * The kind of request ('completion'...) under which a failure is reported
   * to `errors` (and a success clears it); none: not reported.
   */
  errorKind?: string;
  errors?: RequestErrors;
  transport: IStreamTransport;
}

/** One streamed request. `run` it once; `stop` it any time. */
export class CodegenStream {
  readonly requestId: string;
  private _state: StreamState = 'idle';
  private _controller = new AbortController();
  private _stopped = false;
  private _run: Promise<StreamOutcome> | null = null;

  constructor(private _options: IStreamOptions) {
    this.requestId = _options.requestId;
  }

  get state(): StreamState {
    return this._state;
  }

  /** Whether it was stopped here (its outcome is, or will be, `stopped`). */
  get stopped(): boolean {
    return this._stopped;
  }

  /** Send the request and relay its events; resolves (never rejects) when it ends. */
  run(): Promise<StreamOutcome> {
    this._run ??= this._execute();
    return this._run;
  }

  /**
   * Stop it: abort the fetch and ask the server to cancel (once). Nothing
   * happens when it has already ended; before `run`, it will not start.
   */
  stop(): void {
    if (
      this._stopped ||
      (this._state !== 'idle' && this._state !== 'running')
    ) {
      return;
    }
    this._stopped = true;
    this._controller.abort();
    if (this._state === 'running') {
      this._options.transport.cancel(this.requestId).catch(() => {
        // The request may already have ended on the server; nothing to do.
      });
    }
  }

  private async _execute(): Promise<StreamOutcome> {
    if (this._stopped) {
      return this._end({ state: 'stopped' });
    }
    this._state = 'running';
    const { endPoint, body, requestId, onEvent, transport } = this._options;
    const signal = this._controller.signal;
    let outcome: StreamOutcome;
    try {
      const payload = { ...body, stream: true, request_id: requestId };
      const response = await transport.post(
        endPoint,
        JSON.stringify(payload),
        signal
      );
      if (!response.ok) {
        throw errorFromResponse(
          response.status,
          await response.text(),
          response.statusText
        );
      }
      if (!response.body) {
        throw errorFromEvent({ message: 'The server sent no stream' });
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SSEParser();
      while (!this._stopped) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        for (const event of parser.feed(
          decoder.decode(value, { stream: true })
        )) {
          if (event.event === 'error') {
            throw errorFromEvent(event.data);
          }
          onEvent(event);
          if (this._stopped) {
            break; // stopped from an event's handler: relay no more
          }
        }
      }
      outcome = this._stopped ? { state: 'stopped' } : { state: 'done' };
    } catch (reason) {
      outcome = this._stopped
        ? { state: 'stopped' }
        : { state: 'error', ...requestFailure(reason) };
    }
    // Close the connection whatever happened (the server stops with it).
    this._controller.abort();
    return this._end(outcome);
  }

  private _end(outcome: StreamOutcome): StreamOutcome {
    this._state = outcome.state;
    const { errorKind, errors = requestErrors } = this._options;
    if (errorKind && outcome.state === 'done') {
      errors.clear(errorKind);
    } else if (errorKind && outcome.state === 'error') {
      errors.report(errorKind, outcome);
    }
    return outcome;
  }
}

/**
 * The stream in flight in one place (an editor, a notebook): running a new
 * one stops the one before it, here and on the server.
 */
export class StreamSlot {
  private _current: CodegenStream | null = null;

  /** The stream still running here, if any. */
  get current(): CodegenStream | null {
    return this._current;
  }

  /** Stop the stream in flight, and run `stream` in its place. */
  async run(stream: CodegenStream): Promise<StreamOutcome> {
    this.stop();
    this._current = stream;
    try {
      return await stream.run();
    } finally {
      if (this._current === stream) {
        this._current = null;
      }
    }
  }

  /** Stop the stream in flight, if any. */
  stop(): void {
    const current = this._current;
    this._current = null;
    current?.stop();
  }
}
