/**
 * Policies: YAML → a typed, validated policy. The public surface of src/policy for src/cli,
 * src/api and src/index.ts; light (the YAML parser and the schema library only), so that a
 * command that checks a policy loads nothing else.
 */
export { loadPolicy, checkPolicyFile, parsePolicy, issueLine, type Policy, type PolicySource, type PolicyIssue, type PolicyResult } from './load.js';
export { policySchema, type PolicyDocument } from './schema.js';
export { policyJsonSchema } from './jsonSchema.js';
export { tightenPrivacy, type PrivacyOverrides, type TightenResult } from './tighten.js';
