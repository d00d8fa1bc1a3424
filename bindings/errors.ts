/** Every failure of the store is a StrataError with one of these codes. */
export type StrataErrorCode =
  | 'INVALID_ARGUMENT'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'CLOSED'
  | 'LOCKED'
  | 'CORRUPTION'
  | 'IO_ERROR'
  | 'OUT_OF_MEMORY'
  | 'ITERATOR_CLOSED';

export class StrataError extends Error {
  readonly code: StrataErrorCode;
  constructor(code: StrataErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'StrataError';
    this.code = code;
  }
}

export function invalid(message: string): StrataError {
  return new StrataError('INVALID_ARGUMENT', message);
}
