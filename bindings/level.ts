// strata-kv/level: being written (issue: abstract-level adapter).
export {};
