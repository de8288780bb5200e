import { CodegenAPIError } from '../errors';
import { RequestErrors } from '../requestErrors';
import { ISSEvent } from '../sse';
import {
  CodegenStream,
  IStreamOptions,
  IStreamTransport,
  StreamSlot
} from '../stream';

const encoder = new TextEncoder();

/** A streamed reply the test writes to, which errors as fetch does on abort. */
class FakeReply {
  readonly response: Response;
  private _controller!: ReadableStreamDefaultController<Uint8Array>;

  constructor(signal: AbortSignal) {
    const body = new ReadableStream<Uint8Array>({
      start: controller => {
        this._controller = controller;
      }
    });
    signal.addEventListener('abort', () => {
      const error = new Error('The operation was aborted.');
      error.name = 'AbortError';
      try {
        this._controller.error(error);
      } catch {
        // already closed
      }
    });
    this.response = new Response(body, {
      status: 200,
      headers: { 'Content-Type': 'text/event-stream' }
    });
  }

  send(event: string, data: unknown): void {
    this.raw(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  raw(text: string): void {
    this._controller.enqueue(encoder.encode(text));
  }

  end(): void {
    this._controller.close();
  }
}

/** A server that records posts and cancels; `reply` decides each answer. */
class FakeTransport implements IStreamTransport {
  posts: { endPoint: string; body: any; signal: AbortSignal }[] = [];
  cancels: string[] = [];
  replies: FakeReply[] = [];
  reply: (signal: AbortSignal) => Promise<Response> = async signal => {
    const reply = new FakeReply(signal);
    this.replies.push(reply);
    return reply.response;
  };

  post(endPoint: string, body: string, signal: AbortSignal) {
    this.posts.push({ endPoint, body: JSON.parse(body), signal });
    return this.reply(signal);
  }

  cancel(requestId: string) {
    this.cancels.push(requestId);
    return Promise.resolve({ cancelled: true });
  }
}

/** Let the stream read what was sent. */
const settle = () => new Promise(resolve => setTimeout(resolve, 0));

function setup(overrides: Partial<IStreamOptions> = {}) {
  const transport = new FakeTransport();
  const errors = new RequestErrors();
  const events: ISSEvent[] = [];
  const options: IStreamOptions = {
    endPoint: 'explain',
    body: { code: 'x = 1' },
    requestId: 'codegen-test-1',
    onEvent: event => events.push(event),
    errorKind: 'explanation',
    errors,
    transport,
    ...overrides
  };
  return { transport, errors, events, stream: new CodegenStream(options) };
}

describe('CodegenStream', () => {
  it('posts with stream and the request id, relays events, ends done', async () => {
    const { transport, errors, events, stream } = setup();
    errors.report('explanation', new Error('an earlier failure'));
    const run = stream.run();
    expect(stream.state).toBe('running');
    await settle();
    expect(transport.posts).toHaveLength(1);
    expect(transport.posts[0].endPoint).toBe('explain');
    expect(transport.posts[0].body).toEqual({
      code: 'x = 1',
      stream: true,
      request_id: 'codegen-test-1'
    });
    const reply = transport.replies[0];
    reply.send('explanation', { delta: 'It ' });
    // An event split across chunks still arrives whole
    reply.raw('event: explanation\ndata: {"del');
    reply.raw('ta": "adds."}\n\n');
    reply.send('done', { explanation: 'It adds.' });
    reply.end();
    expect(await run).toEqual({ state: 'done' });
    expect(events.map(e => e.event)).toEqual([
      'explanation',
      'explanation',
      'done'
    ]);
    expect(events[1].data).toEqual({ delta: 'adds.' });
    expect(stream.state).toBe('done');
    // Success clears the kind's earlier error; nothing was cancelled
    expect(errors.latest).toBeNull();
    expect(transport.cancels).toEqual([]);
    // run() again is the same run
    expect(await stream.run()).toEqual({ state: 'done' });
    expect(transport.posts).toHaveLength(1);
  });

  it('stop aborts the fetch and sends one cancel; the outcome is stopped', async () => {
    const { transport, errors, events, stream } = setup();
    const run = stream.run();
    await settle();
    transport.replies[0].send('explanation', { delta: 'It ' });
    await settle();
    stream.stop();
    stream.stop();
    expect(transport.posts[0].signal.aborted).toBe(true);
    expect(await run).toEqual({ state: 'stopped' });
    stream.stop();
    expect(transport.cancels).toEqual(['codegen-test-1']);
    expect(events).toHaveLength(1);
    expect(stream.state).toBe('stopped');
    expect(errors.latest).toBeNull(); // stopping is no error
  });

  it('relays nothing more once an event handler stops it', async () => {
    const { transport, stream } = setup({
      onEvent: () => {
        seen++;
        stream.stop();
      }
    });
    let seen = 0;
    const run = stream.run();
    await settle();
    // Two events in one chunk: the second is not relayed
    transport.replies[0].raw(
      'event: text\ndata: {"delta": "a"}\n\nevent: text\ndata: {"delta": "b"}\n\n'
    );
    expect(await run).toEqual({ state: 'stopped' });
    expect(seen).toBe(1);
    expect(transport.cancels).toEqual(['codegen-test-1']);
  });

  it('sends no cancel when stopped after it ended, or before it started', async () => {
    const ended = setup();
    const run = ended.stream.run();
    await settle();
    ended.transport.replies[0].end();
    expect(await run).toEqual({ state: 'done' });
    ended.stream.stop();
    expect(ended.transport.cancels).toEqual([]);

    const early = setup();
    early.stream.stop();
    expect(await early.stream.run()).toEqual({ state: 'stopped' });
    expect(early.transport.posts).toEqual([]);
    expect(early.transport.cancels).toEqual([]);
  });

  it('an HTTP error ends in an error with its status and the server message', async () => {
    const { transport, errors, stream } = setup();
    transport.reply = async () =>
      new Response(
        JSON.stringify({
          message: 'The model is busy: 8 requests queued',
          reason: 'Too Many Requests'
        }),
        { status: 429, statusText: 'Too Many Requests' }
      );
    expect(await stream.run()).toEqual({
      state: 'error',
      status: 429,
      message: 'The model is busy: 8 requests queued'
    });
    expect(stream.state).toBe('error');
    expect(errors.latest).toEqual({
      kind: 'explanation',
      status: 429,
      message: 'The model is busy: 8 requests queued'
    });
    expect(transport.cancels).toEqual([]);
  });

  it('an error event ends in an error (500) and closes the connection', async () => {
    const { transport, errors, events, stream } = setup();
    const run = stream.run();
    await settle();
    const reply = transport.replies[0];
    reply.send('explanation', { delta: 'It ' });
    reply.send('error', { message: 'Generation failed: out of memory' });
    reply.send('explanation', { delta: 'never relayed' });
    expect(await run).toEqual({
      state: 'error',
      status: 500,
      message: 'Generation failed: out of memory'
    });
    expect(events).toHaveLength(1);
    expect(transport.posts[0].signal.aborted).toBe(true);
    expect(transport.cancels).toEqual([]); // the server has ended it
    expect(errors.latest?.status).toBe(500);
  });

  it('a network failure ends in an error without a status', async () => {
    const { transport, errors, stream } = setup();
    transport.reply = () => Promise.reject(new TypeError('Failed to fetch'));
    expect(await stream.run()).toEqual({
      state: 'error',
      status: null,
      message: 'Failed to fetch'
    });
    expect(errors.latest).toEqual({
      kind: 'explanation',
      status: null,
      message: 'Failed to fetch'
    });
  });

  it('a stop while the request is sent is stopped, not a network error', async () => {
    const { transport, errors, stream } = setup();
    // As ServerConnection does: an aborted fetch rejects with a NetworkError
    transport.reply = signal =>
      new Promise((_, reject) =>
        signal.addEventListener('abort', () =>
          reject(new TypeError('The user aborted a request.'))
        )
      );
    const run = stream.run();
    await settle();
    stream.stop();
    expect(await run).toEqual({ state: 'stopped' });
    expect(transport.cancels).toEqual(['codegen-test-1']);
    expect(errors.latest).toBeNull();
  });

  it('a failing event handler ends in an error and closes the connection', async () => {
    const { transport, stream } = setup({
      onEvent: () => {
        throw new Error('cell is gone');
      }
    });
    const run = stream.run();
    await settle();
    transport.replies[0].send('text', { delta: 'x' });
    expect(await run).toEqual({
      state: 'error',
      status: null,
      message: 'cell is gone'
    });
    expect(transport.posts[0].signal.aborted).toBe(true);
  });

  it('reports nothing without an error kind', async () => {
    const { transport, errors, stream } = setup({ errorKind: undefined });
    transport.reply = async () => new Response('', { status: 503 });
    const outcome = await stream.run();
    expect(outcome).toEqual({
      state: 'error',
      status: 503,
      message: 'HTTP 503'
    });
    expect(errors.latest).toBeNull();
  });
});

describe('StreamSlot', () => {
  it('a newer stream stops (and cancels) the one in flight', async () => {
    const transport = new FakeTransport();
    const make = (requestId: string) =>
      new CodegenStream({
        endPoint: 'complete',
        body: { prefix: 'x' },
        requestId,
        onEvent: () => undefined,
        transport
      });
    const slot = new StreamSlot();
    const first = make('codegen-a-1');
    const second = make('codegen-a-2');
    const firstRun = slot.run(first);
    expect(slot.current).toBe(first);
    await settle();
    const secondRun = slot.run(second);
    expect(slot.current).toBe(second);
    expect(await firstRun).toEqual({ state: 'stopped' });
    expect(transport.cancels).toEqual(['codegen-a-1']);
    expect(transport.posts[0].signal.aborted).toBe(true);
    await settle();
    transport.replies[1].send('done', { completions: [] });
    transport.replies[1].end();
    expect(await secondRun).toEqual({ state: 'done' });
    expect(slot.current).toBeNull();
    // Nothing in flight: stop does nothing
    slot.stop();
    expect(transport.cancels).toEqual(['codegen-a-1']);
  });

  it('stop stops the stream in flight once', async () => {
    const transport = new FakeTransport();
    const slot = new StreamSlot();
    const run = slot.run(
      new CodegenStream({
        endPoint: 'generate',
        body: { instruction: 'plot' },
        requestId: 'codegen-generate-1',
        onEvent: () => undefined,
        transport
      })
    );
    await settle();
    slot.stop();
    slot.stop();
    expect(await run).toEqual({ state: 'stopped' });
    expect(slot.current).toBeNull();
    expect(transport.cancels).toEqual(['codegen-generate-1']);
  });
});

it('CodegenAPIError carries the status', () => {
  const error = new CodegenAPIError(404, 'Not Found');
  expect(error).toBeInstanceOf(Error);
  expect(error.status).toBe(404);
});
