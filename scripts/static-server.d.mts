export interface StaticServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  port: number;
  close(): Promise<void>;
}
export declare function startStaticServer(mounts: Record<string, string>, port?: number, options?: { isolated?: boolean }): Promise<StaticServer>;
