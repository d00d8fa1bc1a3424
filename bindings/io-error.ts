// File-system failures as StrataErrors: every fs call of the on-disk store goes through
// `io`, so ENOSPC, EIO, EACCES… surface as IO_ERROR naming the operation and the file.
import { StrataError } from './errors.js';

export function io<T>(what: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StrataError) throw err;
    const code = (err as NodeJS.ErrnoException)?.code ?? 'unknown';
    throw new StrataError('IO_ERROR', `${what} ${file} failed: ${code} (${(err as Error)?.message ?? String(err)})`, { cause: err });
  }
}
