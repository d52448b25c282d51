// Loaded first by the CLI, the demo and mocha. It used to drop Node's TimeoutNegativeWarning,
// which kafkajs's request queue raised; the queue is fixed instead (kafka/kafkajs-request-queue.ts,
// loaded here before any client), so every warning is printed again.
import './kafka/kafkajs-request-queue';
