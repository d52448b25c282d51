// Loaded first by the CLI, the demo, mocha and the int-spec command line (before tsx, so it
// imports nothing). It used to drop Node's TimeoutNegativeWarning, which kafkajs's request queue
// raised; the queue is fixed instead (kafka/kafkajs-request-queue.ts, applied by credentials.ts
// where every kafkajs client's settings are made), so every warning is printed again.
export {};
