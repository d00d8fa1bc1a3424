// strata-kv/nats: being written (issue: scale-out on NATS JetStream).
export {};
