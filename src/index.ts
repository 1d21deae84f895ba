/**
 * Veil's public library API. The CLI (src/cli) and the HTTP API (src/api) are thin layers
 * over what is exported here.
 */
export { VeilError, isVeilError, type ErrorCode, type ErrorLocation } from './errors.js';
export { loadPolicy, parsePolicy, type Policy, type PolicyIssue, type PolicyResult } from './policy/load.js';
export { policySchema, type PolicyDocument } from './policy/schema.js';
export { loadSecret, keyedDigest } from './secret/key.js';
export { writeFileAtomic, openAtomicStream } from './io/atomic.js';
