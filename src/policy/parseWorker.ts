/**
 * Worker-thread entry of parsePolicyOffThread: parses each policy text it is sent and posts
 * the PolicyResult back. The thread lives on between requests (no start-up cost per parse).
 */
import { parentPort } from 'node:worker_threads';
import { parsePolicy } from './load.js';

parentPort?.on('message', (input: { text: string; where: { file: string; baseDir: string } }) => {
  parentPort?.postMessage(parsePolicy(input.text, input.where));
});
