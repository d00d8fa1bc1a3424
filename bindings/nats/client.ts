// The NATS client: the three @nats-io packages strata-kv/nats runs on, loaded here and only
// here. They are optional peer dependencies of strata-kv, so that a browser app, or a Node
// app without NATS, does not install them; this module turns a missing one into a
// StrataError that says what to install, instead of a module-not-found naming a file in dist/.
// They are loaded with require (all three are CommonJS) because a static `import` of a
// missing package fails while the entry is linked, before any code of it runs and can check.
// INVARIANT: no other file of nats/ imports a value from '@nats-io/...' (types only, with
// `import type`, which leaves no import in the build). test/package.test.ts imports the built
// entry (ESM and CJS) where the packages are not installed and expects this error, with the
// versions of package.json's devDependencies (which its peerDependencies must accept).
import { createRequire } from 'node:module';
import { StrataError } from 'strata-kv';
import type * as Transport from '@nats-io/transport-node';
import type * as JetStream from '@nats-io/jetstream';
import type * as Kv from '@nats-io/kv';

/** The NATS client packages and the versions strata-kv/nats is tested with. */
export const NATS_PACKAGES = {
  '@nats-io/transport-node': '3.4.0',
  '@nats-io/jetstream': '3.4.0',
  '@nats-io/kv': '3.4.0',
} as const;

const require = createRequire(import.meta.url);

function load<T>(name: keyof typeof NATS_PACKAGES): T {
  try {
    return require(name) as T;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw err;
    const install = Object.entries(NATS_PACKAGES).map(([n, v]) => `${n}@${v}`).join(' ');
    throw new StrataError('INVALID_ARGUMENT',
      `strata-kv/nats needs the NATS client packages, optional peer dependencies of strata-kv that are not installed (${name} is missing): npm install ${install}`,
      { cause: err });
  }
}

const transport = load<typeof Transport>('@nats-io/transport-node');
const js = load<typeof JetStream>('@nats-io/jetstream');
const kv = load<typeof Kv>('@nats-io/kv');

export const { connect, headers } = transport;
export const { jetstream, jetstreamManager, DeliverPolicy, StorageType, DiscardPolicy } = js;
export const { Kvm } = kv;
