// The growth benchmarks' keys: 16 bytes, key(i) for i in 0..n-1 a permutation spread over
// the key space, so filling in order of i writes in random key order.
export const key = (i, out = new Uint8Array(16)) => {
  const x = Math.imul(i ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  const dv = new DataView(out.buffer, out.byteOffset, 16);
  dv.setUint32(0, x); dv.setUint32(4, i); dv.setUint32(8, ~x >>> 0); dv.setUint32(12, i ^ 0xa5a5a5a5);
  return out;
};
