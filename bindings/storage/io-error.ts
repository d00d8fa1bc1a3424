// File-system failures as StrataErrors: every fs call of the on-disk store goes through
// `io` (or `ioAsync` for OPFS's async calls), so ENOSPC, EIO, EACCES… (Node) and
// QuotaExceededError, NotReadableError… (OPFS DOMExceptions, known by name) surface as
// IO_ERROR naming the operation and the file.
import { StrataError } from '../errors.js';

export function io<T>(what: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw ioError(what, file, err);
  }
}

export async function ioAsync<T>(what: string, file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw ioError(what, file, err);
  }
}

/** `err` (a Node errno error or an OPFS DOMException) as IO_ERROR naming the operation and
 *  the file; a StrataError passes through. */
export function ioError(what: string, file: string, err: unknown): StrataError {
  if (err instanceof StrataError) return err;
  const errno = (err as NodeJS.ErrnoException)?.code;
  const code = typeof errno === 'string' ? errno : (err as Error)?.name ?? 'unknown';
  return new StrataError('IO_ERROR', `${what} ${file} failed: ${code} (${(err as Error)?.message ?? String(err)})`, { cause: err });
}
