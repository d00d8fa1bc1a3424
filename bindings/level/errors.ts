// Errors of the abstract-level adapter: Level's error codes (abstract-level README,
// "Errors"), each keeping the StrataError it stands for as its `cause`.
import { StrataError } from 'strata-kv';

export class LevelError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LevelError';
    this.code = code;
  }
}

/** LEVEL_ABORTED, named AbortError as the DOM's AbortSignal errors are. */
export class LevelAbortError extends LevelError {
  constructor(cause?: unknown) {
    super('Operation has been aborted', 'LEVEL_ABORTED', { cause });
    this.name = 'AbortError';
  }
}

/** The Level code for each StrataError code that has one; the others pass through as they are. */
const LEVEL_CODES: Partial<Record<StrataError['code'], string>> = {
  LOCKED: 'LEVEL_LOCKED',
  CORRUPTION: 'LEVEL_CORRUPTION',
  IO_ERROR: 'LEVEL_IO_ERROR',
  KEY_TOO_LARGE: 'LEVEL_INVALID_KEY',
  VALUE_TOO_LARGE: 'LEVEL_INVALID_VALUE',
  CLOSED: 'LEVEL_DATABASE_NOT_OPEN',
  ITERATOR_CLOSED: 'LEVEL_ITERATOR_NOT_OPEN',
};

/** `err` as a Level error: a StrataError with a Level counterpart becomes a LevelError
 *  with that code and the StrataError as cause (its message kept); anything else as is. */
export function toLevelError(err: unknown): unknown {
  if (!(err instanceof StrataError)) return err;
  const code = LEVEL_CODES[err.code];
  return code === undefined ? err : new LevelError(err.message, code, { cause: err });
}
