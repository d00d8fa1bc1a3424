// Which member should run each partition: a pure function of the live members' ids, so every
// member computes the same answer from the same membership without a leader.
//
// Each member gets a quota — ⌊P/M⌋, plus one for the first P mod M members in id order — and
// each partition, in turn, goes to the member that ranks it highest (rendezvous hashing:
// murmur2 of "member\0partition") among those with quota left. Rendezvous ranks make it
// sticky: when a member joins or leaves, most partitions keep their member. The quotas make
// it balanced: counts differ by at most one. A partition's standby goes to the member that
// ranks it highest after its owner.
import { murmur2 } from 'strata-kv';

const encoder = new TextEncoder();

function score(member: string, partition: number): number {
  return murmur2(encoder.encode(`${member}\0${partition}`)) >>> 0;
}

/** The member for each partition 0..partitions-1; empty when there are no members. */
export function assignPartitions(members: readonly string[], partitions: number): string[] {
  const ids = [...new Set(members)].sort();
  if (ids.length === 0) return [];
  const quota = new Map(ids.map((m, i) => [m, Math.floor(partitions / ids.length) + (i < partitions % ids.length ? 1 : 0)]));
  const out: string[] = [];
  for (let p = 0; p < partitions; p++) {
    let best: string | undefined;
    let bestScore = -1;
    for (const m of ids) {
      if (quota.get(m)! === 0) continue;
      const s = score(m, p);
      if (s > bestScore || (s === bestScore && m < best!)) { best = m; bestScore = s; }
    }
    out.push(best!);
    quota.set(best!, quota.get(best!)! - 1);
  }
  return out;
}

/** For each partition, the member that keeps a standby of it: the one that ranks it highest
 *  after its owner (undefined with fewer than two members). */
export function assignStandbys(members: readonly string[], owners: readonly string[]): (string | undefined)[] {
  const ids = [...new Set(members)].sort();
  return owners.map((owner, p) => {
    let best: string | undefined;
    let bestScore = -1;
    for (const m of ids) {
      if (m === owner) continue;
      const s = score(m, p);
      if (s > bestScore) { best = m; bestScore = s; }
    }
    return best;
  });
}
