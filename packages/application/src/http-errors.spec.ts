import { HttpException } from '@nestjs/common';
import { StrataError } from '@strata/contracts';
import { errorBodyFor, surfaceOf, toHttpError } from './http-errors';

describe('surfaceOf', () => {
  it.each([
    ['/generate', 'tgi'],
    ['/generate_stream?x=1', 'tgi'],
    ['/info', 'tgi'],
    ['/tokenize/', 'tgi'],
    ['/v1/chat/completions', 'openai'],
    ['/v1', 'openai'],
    ['/v10/x', 'strata'],
    ['/admin/keys', 'strata'],
    ['/generated', 'strata'],
  ])('%s is %s', (url, surface) => {
    expect(surfaceOf(url)).toBe(surface);
  });
});

describe('toHttpError and errorBodyFor', () => {
  it('keeps a 4xx domain message and maps it to each surface', () => {
    const { status, body } = toHttpError(
      new StrataError('validation_failed', 'top_p: must be in (0, 1]', 'top_p'),
    );
    expect(status).toBe(422);
    expect(errorBodyFor('tgi', status, body)).toEqual({
      error: 'top_p: must be in (0, 1]',
      error_type: 'validation',
    });
    expect(errorBodyFor('openai', status, body)).toEqual({
      error: {
        message: 'top_p: must be in (0, 1]',
        type: 'invalid_request_error',
        param: 'top_p',
        code: 'validation_failed',
      },
    });
    expect(errorBodyFor('strata', status, body)).toEqual({
      error: { code: 'validation_failed', message: 'top_p: must be in (0, 1]', field: 'top_p' },
    });
  });

  it("replaces a 5xx's message from below, which may carry a driver's words", () => {
    const fromDriver = new StrataError('unavailable', 'invalid byte sequence for encoding "UTF8": 0x00');
    expect(toHttpError(fromDriver).body.error.message).toBe(
      'a service this server depends on is unavailable; try again later',
    );
    const failed = new StrataError('generation_failed', "the model's forward pass failed: Error: onnx");
    expect(toHttpError(failed).body.error.message).toBe('generation failed');
    const unknown = toHttpError(new TypeError('cannot read x of undefined'));
    expect(unknown).toMatchObject({ status: 500, unexpected: true });
    expect(unknown.body.error.message).toBe('internal server error');
  });

  it("keeps another guard's 4xx status", () => {
    expect(toHttpError(new HttpException('Forbidden resource', 403))).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden' } },
    });
    expect(toHttpError(new HttpException('Conflict', 409))).toMatchObject({ status: 409 });
  });
});
