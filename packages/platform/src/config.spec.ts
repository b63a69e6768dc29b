import { z } from 'zod';
import { ConfigError, env, loadConfig } from './config';

const schema = z.object({
  PORT: env.int(0, 65_535).default(3000),
  DEBUG: env.bool().default(false),
  MODE: env.enum(['fp32', 'q8'] as const).default('fp32'),
  NAME: env.string().default('strata'),
});

describe('loadConfig', () => {
  it('applies defaults and parses the string forms a shell gives', () => {
    expect(loadConfig(schema, {})).toEqual({ PORT: 3000, DEBUG: false, MODE: 'fp32', NAME: 'strata' });
    expect(loadConfig(schema, { PORT: '8080', DEBUG: 'TRUE', MODE: 'q8', NAME: 'x' })).toEqual({
      PORT: 8080,
      DEBUG: true,
      MODE: 'q8',
      NAME: 'x',
    });
  });

  it('treats empty values as unset and ignores variables it does not own', () => {
    expect(loadConfig(schema, { PORT: '', UNRELATED: 'whatever' }).PORT).toBe(3000);
  });

  it('names every bad variable with its value and the rule it broke', () => {
    let caught: unknown;
    try {
      loadConfig(schema, { PORT: '80a', DEBUG: 'maybe', MODE: 'fp16' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.code).toBe('config_invalid');
    expect(error.variables.sort()).toEqual(['DEBUG', 'MODE', 'PORT']);
    expect(error.message).toContain('PORT="80a": must be a whole number');
    expect(error.message).toContain('DEBUG="maybe": must be true or false');
    expect(error.message).toContain('MODE="fp16": must be one of fp32, q8');
  });

  it('enforces numeric ranges', () => {
    expect(() => loadConfig(schema, { PORT: '70000' })).toThrow(/PORT="70000": must be at most 65535/);
    expect(() => loadConfig(schema, { PORT: '-1' })).toThrow(/PORT="-1": must be at least 0/);
  });
});
