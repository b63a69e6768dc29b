import Module from 'node:module';
import nodePath from 'node:path';
import { withoutImageLibrary } from './transformers';

const load = (request: string): unknown =>
  (Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown })._load(
    request,
    module,
    false,
  );

describe('withoutImageLibrary', () => {
  it('hands `sharp` a stand-in that says image input is not supported, and loads everything else', () => {
    const [sharp, path] = withoutImageLibrary(() => [load('sharp'), load('node:path')]);
    expect(path).toBe(nodePath);
    expect(typeof sharp).toBe('function');
    expect(() => (sharp as () => unknown)()).toThrow(/image input is not supported.*sharp/);
  });

  it('restores normal loading afterwards, also when loading failed', () => {
    expect(() =>
      withoutImageLibrary(() => {
        throw new Error('load failed');
      }),
    ).toThrow('load failed');
    const sharp = load('sharp') as { versions?: unknown };
    expect(sharp.versions).toBeDefined();
  });
});
