/**
 * Worker-thread entry of parsePolicyOffThread: parses the one policy text it is given
 * (workerData) and posts the PolicyResult back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parsePolicy } from './load.js';

const input = workerData as { text: string; where: { file: string; baseDir: string } };
parentPort?.postMessage(parsePolicy(input.text, input.where));
