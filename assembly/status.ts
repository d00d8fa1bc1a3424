// Status codes returned by every exported function. The core never throws across the
// boundary (an AssemblyScript throw aborts the instance); bindings/engine/abi.ts maps these
// to StrataError codes. Keep the two files in step, and docs/ABI.md with them.
export const OK: i32 = 0;
export const NOT_FOUND: i32 = 1;
export const INVALID_ARGUMENT: i32 = 2;
export const KEY_TOO_LARGE: i32 = 3;
export const VALUE_TOO_LARGE: i32 = 4;
export const OUT_OF_MEMORY: i32 = 5;
export const CORRUPTION: i32 = 6;
export const IO_ERROR: i32 = 7;
/** putIfVersion / deleteIfVersion: the key's version was not the expected one. */
export const CONDITION_FAILED: i32 = 8;
/** An iterator handle that is not open. */
export const BAD_HANDLE: i32 = 9;
/** A lookup found merge operands (docs/LSM.md, "Merge operators"): the result's value is a
 *  chain image (merge-chain.ts) for the host to fold, its sequence the newest operand's. */
export const MERGED: i32 = 10;

/** Largest key the engine accepts: its length must fit a u16 in tooling and stay cheap to copy. */
export const MAX_KEY_BYTES: u32 = 65535;
/** Largest value: 64 MiB, far below TLSF's 1 GiB block limit even with a block around it. */
export const MAX_VALUE_BYTES: u32 = 64 << 20;
