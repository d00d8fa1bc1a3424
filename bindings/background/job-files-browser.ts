// The browser build's twin of job-files.ts: no job reads or writes a directory there. An
// OPFS store's run files are open in the store's own worker (exclusive sync access
// handles), so its jobs travel as images, as an in-memory store's do.
import type { Engine } from '../engine/abi.js';
import type { JobOutput } from './job.js';

export interface JobInputFiles {
  importTail(run: number, level: number): number;
  fileOf(run: number): string;
  closeAll(): void;
}

const noDirectory = (): never => { throw new Error('strata-kv: a background job with a directory cannot run in a browser'); };

export function openInputFiles(_e: Engine, _dir: string): JobInputFiles { return noDirectory(); }

export function writeOutputFiles(_e: Engine, _runs: number[], _ids: number[], _dir: string, _written: string[]): JobOutput[] { return noDirectory(); }

export function removeQuietly(_file: string): void { /* no files */ }
