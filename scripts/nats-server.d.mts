import type { ChildProcess } from 'node:child_process';

export declare function ensureNatsServer(): { bin?: string; reason?: string };
export declare function natsServerOrSkip(what: string): string | undefined;
export declare function freePort(): Promise<number>;
export declare function startNats(bin: string, size?: number): Promise<NatsCluster>;
export interface NatsNode {
  name: string;
  port: number;
  url: string;
  /** undefined once stopped or killed. */
  process: ChildProcess | undefined;
  pid: number;
  storeDir: string;
  config: string;
  log: string[];
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Client URLs of every node. */
  servers: string[];
  /** SIGKILLs one node (by PID). */
  kill(node: NatsNode): Promise<void>;
  /** Restarts a stopped node with its store directory. */
  restart(node: NatsNode): Promise<void>;
  /** Stops every node (SIGTERM then SIGKILL, by PID) and removes the temporary directories. */
  stop(): Promise<void>;
}

