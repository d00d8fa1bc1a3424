// Setting up a NATS changelog: its options (and their checks), and the JetStream stream it
// lives in, created when missing or checked to fit (subjects, retention) when present.
// INVARIANT: a stream that NatsChangelog.connect accepts has subjects covering `<prefix>.>` and
// max_msgs_per_subject = 1 exactly when the retention is 'compacted' (nats/changelog.ts's layout).
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { StorageType, DiscardPolicy } from './client.js';
import { StrataError } from 'strata-kv';
import { delay, shown } from './util.js';

export interface NatsChangelogOptions {
  /** Server URL(s), e.g. 'nats://127.0.0.1:4222'; every node of a cluster, ideally. */
  servers: string | string[];
  /** JetStream stream name; created when missing. */
  stream: string;
  /** Subject prefix: partition p is `<prefix>.<p>`. Default: the stream name. */
  subjectPrefix?: string;
  /** Replicas of a stream this call creates (1, 3 or 5). Default 1. */
  replicas?: number;
  /** 'acknowledged' (default) or 'pipelined' (see the file comment). */
  mode?: 'acknowledged' | 'pipelined';
  /** 'history' (default) keeps every record; 'compacted' keeps each key's latest record. */
  retention?: 'history' | 'compacted';
  /** pipelined: messages in flight per partition. Default 32. */
  maxInFlight?: number;
  /** Cap on a message's size; default min(server max_payload − 4 KiB, 1 MiB). */
  maxMessageBytes?: number;
  /** Wait for one publish's ack before retrying it, ms. Default 2000. */
  publishTimeoutMs?: number;
  /** Give up (flush rejects, the partition's writer stops) after retrying this long, ms. Default 60000. */
  retryForMs?: number;
  /** Stream duplicate window for a stream this call creates, ms. Default 120000. */
  duplicateWindowMs?: number;
  /** Use this connection instead of opening one (close() then leaves it open). */
  connection?: NatsConnection;
  /** Connection name shown by the server. */
  name?: string;
}

export function checkOptions(options: NatsChangelogOptions): NatsChangelogOptions {
  const bad = (m: string) => new StrataError('INVALID_ARGUMENT', m);
  if (options === null || typeof options !== 'object') throw bad('options must be an object');
  const { servers, stream, subjectPrefix, replicas, mode, retention, maxInFlight } = options;
  if (options.connection === undefined && !(typeof servers === 'string' || (Array.isArray(servers) && servers.length > 0 && servers.every((s) => typeof s === 'string')))) {
    throw bad('servers must be a URL string or a non-empty array of them');
  }
  if (typeof stream !== 'string' || !/^[A-Za-z0-9_-]+$/.test(stream)) throw bad(`stream must be a name of letters, digits, _ and -, got ${shown(stream)}`);
  if (subjectPrefix !== undefined && (typeof subjectPrefix !== 'string' || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(subjectPrefix))) {
    throw bad(`subjectPrefix must be dot-separated tokens of letters, digits, _ and -, got ${shown(subjectPrefix)}`);
  }
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)) throw bad(`replicas must be an integer from 1 to 5, got ${shown(replicas)}`);
  if (mode !== undefined && mode !== 'acknowledged' && mode !== 'pipelined') throw bad(`mode must be 'acknowledged' or 'pipelined', got ${shown(mode)}`);
  if (retention !== undefined && retention !== 'history' && retention !== 'compacted') throw bad(`retention must be 'history' or 'compacted', got ${shown(retention)}`);
  if (maxInFlight !== undefined && (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 4096)) throw bad(`maxInFlight must be an integer from 1 to 4096`);
  for (const k of ['maxMessageBytes', 'publishTimeoutMs', 'retryForMs', 'duplicateWindowMs'] as const) {
    const v = options[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw bad(`${k} must be a positive number`);
  }
  if (options.maxMessageBytes !== undefined && options.maxMessageBytes < 4096) throw bad('maxMessageBytes must be at least 4096');
  return options;
}

/** Creates the stream, or checks that the existing one fits (subjects, retention). */
/** What ensureStream needs: the changelog's options, or an input stream's (StreamTasks). */
export type StreamSetup = Pick<NatsChangelogOptions, 'stream' | 'retention' | 'replicas' | 'duplicateWindowMs' | 'retryForMs'>;

export async function ensureStream(jsm: JetStreamManager, o: StreamSetup, prefix: string): Promise<void> {
  const compacted = (o.retention ?? 'history') === 'compacted';
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: o.stream,
    subjects: [`${prefix}.>`],
    storage: StorageType.File,
    num_replicas: o.replicas ?? 1,
    max_msgs_per_subject: compacted ? 1 : -1,
    duplicate_window: (o.duplicateWindowMs ?? 120_000) * 1_000_000,
    discard: DiscardPolicy.Old,
  };
  const deadline = Date.now() + (o.retryForMs ?? 60_000);
  for (let backoff = 50; ; backoff = Math.min(backoff * 2, 1000)) {
    try {
      let info = await jsm.streams.info(o.stream).catch((err: unknown) => {
        if ((err as { code?: number })?.code === 10059 || /stream not found/i.test(String((err as Error)?.message))) return null;
        throw err;
      });
      if (info === null) {
        try {
          info = await jsm.streams.add(wanted);
        } catch (err) {
          if (!/already in use/i.test(String((err as Error)?.message))) throw err;
          info = await jsm.streams.info(o.stream);
        }
      }
      const cfg = info.config;
      if (!(cfg.subjects ?? []).some((s) => s === `${prefix}.>` || s === '>' || (s.endsWith('.>') && `${prefix}.`.startsWith(s.slice(0, -1))))) {
        throw new StrataError('INVALID_ARGUMENT', `stream ${o.stream} exists without subjects ${prefix}.> (it has ${JSON.stringify(cfg.subjects)})`);
      }
      const isCompacted = cfg.max_msgs_per_subject === 1;
      if (isCompacted !== compacted) {
        throw new StrataError('INVALID_ARGUMENT', `stream ${o.stream} exists with ${isCompacted ? 'compacted' : 'history'} retention (max_msgs_per_subject ${cfg.max_msgs_per_subject}), not ${compacted ? 'compacted' : 'history'}`);
      }
      return;
    } catch (err) {
      if (err instanceof StrataError) throw err;
      // A cluster that just started has no JetStream leader yet ("temporarily unavailable", timeouts).
      if (Date.now() + backoff > deadline) throw new StrataError('IO_ERROR', `cannot set up stream ${o.stream}: ${(err as Error)?.message}`, { cause: err });
      await delay(backoff);
    }
  }
}
