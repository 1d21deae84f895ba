/** Jobs on BullMQ over Redis: the server's queue runner and `veil worker`. */
export { parseQueueUrl, QUEUE_NAME, type QueueConnection } from './connection.js';
export { QueueRunner, type QueueRunnerOptions } from './queueRunner.js';
export { startQueueWorker, type QueueWorkerOptions, type RunningQueueWorker } from './queueWorker.js';
