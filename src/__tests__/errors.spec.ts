import {
  CodegenAPIError,
  errorFromEvent,
  errorFromResponse,
  requestFailure
} from '../errors';

describe('errorFromResponse', () => {
  it('shows the server message of a JSON error body', () => {
    const error = errorFromResponse(
      400,
      JSON.stringify({
        message: 'Invalid request: prefix: Input should be a valid string',
        reason: 'Bad Request',
        errors: [{ field: 'prefix' }]
      }),
      'Bad Request'
    );
    expect(error).toBeInstanceOf(CodegenAPIError);
    expect(error.status).toBe(400);
    expect(error.message).toBe(
      'Invalid request: prefix: Input should be a valid string'
    );
    expect(error.reason).toBe('Bad Request');
  });

  it.each([
    // No message: the reason
    [
      503,
      '{"message": "", "reason": "Service Unavailable"}',
      '',
      'Service Unavailable'
    ],
    // Not JSON: the text
    [502, 'upstream timed out', 'Bad Gateway', 'upstream timed out'],
    // Nothing: the status line
    [502, '', 'Bad Gateway', 'HTTP 502 Bad Gateway'],
    [500, '   ', '', 'HTTP 500'],
    // JSON without a message is not shown raw
    [500, '{"detail": 1}', '', 'HTTP 500'],
    [500, '"just a string"', '', 'HTTP 500']
  ])('%d %j -> %j', (status, body, statusText, message) => {
    const error = errorFromResponse(status, body, statusText);
    expect(error.status).toBe(status);
    expect(error.message).toBe(message);
  });
});

describe('errorFromEvent', () => {
  it.each([
    [{ message: 'Generation failed: boom' }, 500, 'Generation failed: boom'],
    [{ message: 'busy', status: 429 }, 429, 'busy'],
    ['plain text', 500, 'plain text'],
    [null, 500, 'HTTP 500']
  ])('%j -> %d %j', (data, status, message) => {
    const error = errorFromEvent(data);
    expect(error.status).toBe(status);
    expect(error.message).toBe(message);
  });
});

describe('requestFailure', () => {
  it.each([
    [new CodegenAPIError(429, 'The model is busy'), 429, 'The model is busy'],
    [{ status: 404, message: 'Not Found' }, 404, 'Not Found'],
    [new TypeError('Failed to fetch'), null, 'Failed to fetch'],
    ['boom', null, 'boom'],
    [undefined, null, 'undefined']
  ])('%p -> %p %j', (reason, status, message) => {
    expect(requestFailure(reason)).toEqual({ status, message });
  });
});
