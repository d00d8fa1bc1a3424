// The core never calls abort on purpose: every failure is a status code (status.ts).
// Should the runtime still abort (an engine bug), trap at once so the host sees a
// RuntimeError instead of a half-finished operation continuing.
export function onAbort(_message: string | null, _fileName: string | null, _line: u32, _column: u32): void {
  unreachable();
}
