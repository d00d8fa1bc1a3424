// StrataError's text: the message says what happened without repeating the code, so
// `${err.code}: ${err.message}` names the code once; String(err) and the stack's first line
// (what Node prints for an uncaught error) carry both, as Node's own errors do.
import { describe, it, expect } from 'vitest';
import { Store, StrataError, codecs } from 'strata-kv';

describe('StrataError text', () => {
  it('message has no code prefix; toString and the stack say "StrataError [CODE]: message"', async () => {
    const s = await Store.open({ keyCodec: codecs.utf8, valueCodec: codecs.utf8 });
    let err: unknown;
    try { s.put('\uD800', 'v'); } catch (e) { err = e; }
    await s.close();
    expect(err).toBeInstanceOf(StrataError);
    const e = err as StrataError;
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).not.toMatch(/INVALID_ARGUMENT/);
    expect(`${e.code}: ${e.message}`.match(/INVALID_ARGUMENT/g)).toHaveLength(1);
    expect(e.name).toBe('StrataError');
    expect(String(e)).toBe(`StrataError [INVALID_ARGUMENT]: ${e.message}`);
    expect(e.stack!.startsWith(`StrataError [INVALID_ARGUMENT]: ${e.message}\n`)).toBe(true);
    expect(e.stack).toMatch(/\n\s+at /); // the frames are kept
  });

  it('every code, and a cause, keep their place', () => {
    const cause = new Error('disk on fire');
    const e = new StrataError('IO_ERROR', 'write 000001.log failed', { cause });
    expect([e.code, e.message, e.cause, String(e)]).toEqual(['IO_ERROR', 'write 000001.log failed', cause, 'StrataError [IO_ERROR]: write 000001.log failed']);
  });
});
