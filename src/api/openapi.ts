/**
 * The OpenAPI 3.1 description of every route, served at GET /openapi.json.
 * test/api/openapi.test.ts checks that it names exactly the routes the app answers.
 */
type Json = Record<string, unknown>;

const errorRef = { $ref: '#/components/schemas/Error' };

const health = (status: string): Json => ({
  type: 'object',
  required: ['status', 'freeBytes', 'minFreeBytes'],
  properties: {
    status: { const: status },
    freeBytes: { type: ['integer', 'null'] },
    minFreeBytes: { type: 'integer' },
    queue: {
      type: 'object',
      required: ['reachable', 'latencyMs'],
      description: 'Only with veil serve --queue: the Redis the jobs are queued in (one round trip, at most 2 s)',
      properties: { reachable: { type: 'boolean' }, latencyMs: { type: ['number', 'null'] } },
    },
  },
});

function errors(...statuses: number[]): Json {
  const text: Record<number, string> = {
    400: 'Bad input (field names the part or policy field)',
    401: 'Missing or unknown API key',
    403: 'The key has the wrong role (FORBIDDEN), or a cookie request without its X-CSRF-Token (CSRF_FAILED)',
    404: 'Not found (or not visible to this key)',
    409: 'Policy not approved, job not finished (JOB_NOT_FINISHED), cancelled (JOB_CANCELLED) or already finished when cancelled (JOB_FINISHED), or a preview job input already deleted (PREVIEW_INPUT_GONE)',
    413: 'Upload or body too large',
    422: 'The data cannot satisfy the policy',
    429: 'Rate limit of this key or of this client address reached',
    507: 'The server is out of disk space (DISK_FULL)',
  };
  return Object.fromEntries(statuses.map((s) => [String(s), { description: text[s], content: { 'application/json': { schema: errorRef } } }]));
}

const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
/** A bearer key, or the console's session cookie (then X-CSRF-Token on every POST/PUT/DELETE). */
const secured = [{ bearer: [] }, { session: [] }];
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const queryEnum = (name: string, values: string[], description: string): Json => ({ name, in: 'query', schema: { enum: values }, description });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-f0-9]{32}$' } };
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,100}$' } };

/** A DICOM job pulled from a DICOMweb source the operator configured (`veil serve --dicomweb-source NAME=URL`), never a URL. */
const dicomSourceJob: Json = {
  type: 'object',
  required: ['policy', 'source'],
  additionalProperties: false,
  properties: {
    policy: { type: 'string', description: 'Policy name; the latest version runs and must be approved' },
    policyVersion: { type: ['integer', 'string'], description: 'Pin an approved older version' },
    source: {
      type: 'object',
      required: ['dicomweb'],
      additionalProperties: false,
      properties: {
        dicomweb: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          description: 'Exactly one of studies and query. Unknown name: 400 SOURCE_UNKNOWN; unreachable source: the job fails with SOURCE_UNREACHABLE; nothing matched: NO_USABLE_INPUT',
          properties: {
            name: { type: 'string', description: 'A configured source name (case-insensitive)' },
            studies: { type: 'array', minItems: 1, maxItems: 10000, items: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$', maxLength: 64 }, description: 'StudyInstanceUIDs (WADO-RS)' },
            query: { type: 'string', maxLength: 2048, description: 'QIDO-RS query, e.g. PatientID=…&StudyDate=20240101-20241231' },
          },
        },
      },
    },
    destination: {
      type: 'object',
      required: ['dicomweb'],
      additionalProperties: false,
      description: 'Store each whole study here by STOW-RS (`--dicomweb-destination NAME=URL`); the result zip is then empty. Unknown name: 400 DESTINATION_UNKNOWN',
      properties: { dicomweb: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' } } } },
    },
  },
};

function jobSubmission(kind: 'tabular' | 'dicom' | 'image'): Json {
  const fileProps: Json =
    kind === 'tabular'
      ? { file: { type: 'string', contentMediaType: 'text/csv', description: 'The CSV to anonymize' } }
      : {
          files: {
            type: 'array',
            items: { type: 'string', contentMediaType: 'application/octet-stream' },
            description: kind === 'dicom' ? 'DICOM files, or one zip of them' : 'PNG or JPEG images, or one zip of them',
          },
        };
  return {
    post: {
      summary: `Submit a ${kind} job (researcher)`,
      security: secured,
      requestBody: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: {
              type: 'object',
              required: ['policy', kind === 'tabular' ? 'file' : 'files'],
              properties: {
                policy: { type: 'string', description: 'Policy name; the latest version runs and must be approved' },
                policyVersion: { type: 'integer', minimum: 1, description: 'Pin an approved older version' },
                ...(kind === 'tabular'
                  ? { overrides: { type: 'string', description: 'JSON {k?, l?, t?, suppressionLimit?} that may only tighten the policy' } }
                  : {}),
                ...fileProps,
              },
            },
          },
          ...(kind === 'dicom' ? { 'application/json': { schema: dicomSourceJob } } : {}),
        },
      },
      responses: {
        '202': json({ type: 'object', required: ['id', 'status'], properties: { id: { type: 'string' }, kind: { type: 'string' }, status: { const: 'queued' } } }, 'Queued'),
        ...errors(400, 401, 403, 404, 409, 413, 429, 507),
      },
    },
  };
}

export function openApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Veil API',
      version: '0.1.0',
      description: 'Anonymize tables, de-identify DICOM and redact images under committee-approved policies, with reports and a hash-chained audit log.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key from `veil keys create`' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'veil_session',
          description: 'The console session from POST /v1/session (httpOnly, SameSite=Strict). POST, PUT and DELETE requests with it must send the header X-CSRF-Token: <csrfToken>.',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                field: { type: 'string' },
                // POLICY_INVALID: every problem of the policy
                issues: { type: 'array', items: { type: 'object', required: ['message'], properties: { line: { type: 'integer' }, field: { type: 'string' }, message: { type: 'string' } } } },
              },
            },
          },
        },
        PolicyRef: { type: ['object', 'null'], properties: { name: { type: 'string' }, version: { type: 'integer' }, sha256: { type: 'string' } } },
        Session: {
          type: 'object',
          required: ['role', 'name', 'keyId', 'csrfToken', 'expiresAt'],
          properties: {
            role: { enum: ['committee', 'researcher', 'auditor'] },
            name: { type: 'string', description: 'The key holder, as named at veil keys create' },
            keyId: { type: 'string' },
            csrfToken: { type: 'string', description: 'Send as X-CSRF-Token on every POST, PUT and DELETE made with the cookie' },
            expiresAt: { type: 'string', format: 'date-time', description: 'When the session ends unless used again (30 min idle, 8 h at most)' },
          },
        },
        PolicyDecision: {
          type: 'object',
          required: ['state', 'by', 'at', 'comment'],
          properties: {
            state: { enum: ['approved', 'rejected', 'pending'] },
            by: { type: ['string', 'null'] },
            at: { type: ['string', 'null'], format: 'date-time' },
            comment: { type: ['string', 'null'] },
          },
        },
        PolicySummary: {
          type: 'object',
          required: ['name', 'latestVersion', 'latestApproved', 'approvedVersions'],
          properties: { name: { type: 'string' }, latestVersion: { type: 'integer' }, latestApproved: { type: 'boolean' }, approvedVersions: { type: 'array', items: { type: 'integer' } } },
        },
        PolicyVersionSummary: {
          type: 'object',
          required: ['version', 'sha256', 'approved', 'createdAt', 'approvedAt', 'decision'],
          properties: {
            version: { type: 'integer' },
            sha256: { type: 'string' },
            approved: { type: 'boolean' },
            createdAt: { type: 'string', format: 'date-time' },
            approvedAt: { type: ['string', 'null'], format: 'date-time' },
            decision: ref('PolicyDecision'),
          },
        },
        Policy: {
          type: 'object',
          required: ['name', 'version', 'sha256', 'approved', 'sections', 'hierarchies', 'createdAt', 'createdBy', 'approvedAt', 'approvedBy', 'decision', 'yaml', 'versions'],
          properties: {
            name: { type: 'string' },
            version: { type: 'integer' },
            sha256: { type: 'string' },
            approved: { type: 'boolean' },
            declaredVersion: { type: 'string' },
            sections: { type: 'array', items: { enum: ['tabular', 'dicom', 'pixels'] } },
            hierarchies: { type: 'array', items: { type: 'object', required: ['path', 'sha256'], properties: { path: { type: 'string' }, sha256: { type: 'string' } } } },
            createdAt: { type: 'string', format: 'date-time' },
            createdBy: { type: 'string' },
            approvedAt: { type: ['string', 'null'], format: 'date-time' },
            approvedBy: { type: ['string', 'null'] },
            decision: ref('PolicyDecision'),
            yaml: { type: 'string', description: 'The stored policy text, byte for byte' },
            versions: { type: 'array', items: ref('PolicyVersionSummary') },
          },
        },
        ValidationIssue: {
          type: 'object',
          required: ['path', 'message', 'text'],
          properties: {
            line: { type: 'integer', minimum: 1 },
            column: { type: 'integer', minimum: 1 },
            path: { type: 'string', description: 'The policy field, e.g. tabular.privacy.k (empty for the whole text)' },
            message: { type: 'string' },
            text: { type: 'string', description: 'The line `veil policy check` prints, e.g. policy.yaml:3: tabular.privacy.k: expected a number, got the string "ten"' },
          },
        },
        ValidationResult: { type: 'object', required: ['ok', 'issues'], properties: { ok: { type: 'boolean' }, issues: { type: 'array', items: ref('ValidationIssue') } } },
        TabularReport: {
          type: 'object',
          description: 'The tabular engine\'s report (kind veil-tabular), as report.json of a job; docs/reports.md describes every field. The main ones are typed here.',
          required: ['kind', 'policy', 'input', 'privacy', 'suppressed', 'suppressionLimit', 'classes', 'utility', 'risk'],
          properties: {
            kind: { const: 'veil-tabular' },
            policy: ref('PolicyRef'),
            input: { type: 'object', required: ['rows', 'columns'], properties: { rows: { type: 'integer' }, columns: { type: 'integer' } } },
            privacy: {
              type: 'object',
              required: ['k', 'satisfied'],
              properties: {
                k: { type: 'object', required: ['required', 'achieved'], properties: { required: { type: 'integer' }, achieved: { type: ['integer', 'null'] } } },
                l: { type: 'object', required: ['variant', 'required', 'achieved'], properties: { variant: { enum: ['distinct', 'entropy', 'recursive'] }, required: { type: 'number' }, c: { type: 'number' }, achieved: { type: ['number', 'null'] } } },
                t: { type: 'object', required: ['required', 'achieved'], properties: { required: { type: 'number' }, achieved: { type: ['number', 'null'] } } },
                satisfied: { type: 'boolean' },
              },
            },
            suppressed: { type: 'integer', description: 'Records suppressed (quasi-identifiers written *)' },
            suppressionLimit: { type: 'number' },
            classes: {
              type: 'object',
              required: ['count', 'minSize', 'maxSize', 'averageSize', 'sizeDistribution'],
              properties: {
                count: { type: 'integer' },
                minSize: { type: ['integer', 'null'] },
                maxSize: { type: ['integer', 'null'] },
                averageSize: { type: ['number', 'null'] },
                sizeDistribution: { type: 'array', items: { type: 'object', required: ['size', 'classes', 'records'], properties: { size: { type: 'string' }, classes: { type: 'integer' }, records: { type: 'integer' } } } },
                sizeBins: {
                  type: 'array',
                  items: { type: 'object', required: ['from', 'to', 'classes', 'records'], properties: { from: { type: 'integer' }, to: { type: 'integer' }, classes: { type: 'integer' }, records: { type: 'integer' } } },
                },
              },
            },
            utility: {
              type: 'object',
              required: ['genILoss', 'ncp', 'perAttribute'],
              properties: {
                genILoss: { type: 'number' },
                ncp: { type: 'number' },
                perAttribute: { type: 'array', items: { type: 'object', required: ['column', 'ncp', 'genILoss'], properties: { column: { type: 'string' }, kind: { type: 'string' }, ncp: { type: 'number' }, genILoss: { type: 'number' } } } },
                published: {
                  type: 'object',
                  required: ['genILoss', 'ncp', 'perAttribute'],
                  description: 'Loss on the published labels (the headline figure)',
                  properties: {
                    genILoss: { type: 'number' },
                    ncp: { type: 'number' },
                    perAttribute: {
                      type: 'array',
                      items: {
                        type: 'object',
                        required: ['column', 'genILoss', 'ncp', 'atRoot', 'suppressed'],
                        properties: {
                          column: { type: 'string' },
                          genILoss: { type: 'number' },
                          ncp: { type: 'number' },
                          atRoot: { type: 'number', description: 'Share of cells of kept records fully generalized (hierarchy root)' },
                          suppressed: { type: 'number', description: 'Share of cells of suppressed records' },
                        },
                      },
                    },
                  },
                },
              },
            },
            risk: {
              type: 'object',
              required: ['before', 'after'],
              properties: {
                threshold: { type: 'number' },
                before: ref('RiskFigures'),
                after: ref('RiskFigures'),
              },
            },
          },
        },
        RiskFigures: {
          type: 'object',
          required: ['prosecutorMax', 'prosecutorAvg', 'recordsAtRisk', 'uniques'],
          properties: { prosecutorMax: { type: 'number' }, prosecutorAvg: { type: 'number' }, recordsAtRisk: { type: 'integer' }, uniques: { type: 'integer' } },
        },
        PreviewResult: {
          type: 'object',
          required: ['policy', 'rows', 'report', 'html'],
          properties: {
            policy: ref('PolicyRef'),
            rows: { type: 'integer', description: 'Rows of the sample' },
            report: ref('TabularReport'),
            html: { type: 'string', description: 'The report page the CLI writes with --report-html (self-contained, no scripts)' },
          },
        },
        Job: {
          type: 'object',
          required: ['id', 'kind', 'status', 'progress'],
          properties: {
            id: { type: 'string' },
            kind: { enum: ['tabular', 'dicom', 'image'] },
            status: { enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
            progress: { type: 'number', minimum: 0, maximum: 1 },
            submittedBy: { type: 'object', required: ['name', 'keyId'], properties: { name: { type: 'string' }, keyId: { type: 'string' } }, description: 'The key that submitted the job' },
            error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } },
            policy: { $ref: '#/components/schemas/PolicyRef' },
            attempts: { type: 'integer' },
            createdAt: { type: 'string', format: 'date-time' },
            startedAt: { type: ['string', 'null'], format: 'date-time' },
            finishedAt: { type: ['string', 'null'], format: 'date-time' },
          },
        },
        AuditEntry: {
          type: 'object',
          required: ['seq', 'at', 'actor', 'role', 'action', 'target', 'policy', 'hash', 'prevHash'],
          description:
            'hash = HMAC-SHA256 (audit key) hex of JSON [seq, at, actor, role, action, target, policy.name|null, policy.version|null, policy.sha256|null, prevHash] (+ detail, keys sorted, when present); the first prevHash is 64 zeros',
          properties: {
            seq: { type: 'integer' },
            at: { type: 'string', format: 'date-time' },
            actor: { type: 'string' },
            role: { type: 'string' },
            action: { type: 'string' },
            target: { type: 'string' },
            policy: { $ref: '#/components/schemas/PolicyRef' },
            detail: { type: 'object', additionalProperties: { type: 'string' }, description: 'Words that go with the action, e.g. {comment} of policy.approve / policy.reject' },
            hash: { type: 'string' },
            prevHash: { type: 'string' },
          },
        },
      },
    },
    paths: {
      '/healthz': {
        get: {
          summary: 'Liveness, free space of the data dir and, with --queue, whether Redis answers (and how fast)',
          responses: {
            '200': json(health('ok'), 'Up, with at least minFreeBytes free'),
            '503': json(health('degraded'), 'Up, but short of space (or the free-space probe failed): uploads and jobs may fail with DISK_FULL; or, with --queue, Redis did not answer: jobs cannot be queued or followed'),
          },
        },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1') } } },
      '/v1/session': {
        post: {
          summary: 'Sign in to the console with an API key: sets the veil_session cookie (httpOnly, SameSite=Strict); audited',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['key'], properties: { key: { type: 'string', description: 'An API key from veil keys create' } } } } } },
          responses: { '200': json(ref('Session'), 'Signed in; Set-Cookie: veil_session=…'), ...errors(400, 401, 429) },
        },
        get: { summary: 'The current session (role, name, CSRF token)', security: [{ session: [] }], responses: { '200': json(ref('Session'), 'Signed in'), ...errors(401, 429) } },
        delete: {
          summary: 'Sign out: ends the session and clears the cookie (X-CSRF-Token required); audited',
          security: [{ session: [] }],
          responses: { '204': { description: 'Signed out (also when the session had already ended)' }, ...errors(403, 429) },
        },
      },
      '/v1/policies': {
        get: {
          summary: 'List policies (any role)',
          security: secured,
          responses: { '200': json({ type: 'object', required: ['policies'], properties: { policies: { type: 'array', items: ref('PolicySummary') } } }, 'Policies with their latest and approved versions'), ...errors(401, 429) },
        },
      },
      '/v1/policies/validate': {
        post: {
          summary: 'Check a policy text as veil policy check does, storing nothing (committee)',
          security: secured,
          requestBody: { required: true, content: { 'application/yaml': { schema: { type: 'string' } }, 'text/plain': { schema: { type: 'string' } } } },
          responses: { '200': json(ref('ValidationResult'), 'ok, or every problem with its line (200 either way)'), ...errors(400, 401, 403, 413, 429) },
        },
      },
      '/v1/policies/schema': {
        get: { summary: "The policies' JSON Schema (policies/schema.json), for editor completion (any role)", security: secured, responses: { '200': json({ type: 'object' }, 'JSON Schema'), ...errors(401, 429) } },
      },
      '/v1/policies/{name}/versions/{version}': {
        parameters: [nameParam, { name: 'version', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
        get: { summary: 'One version with its YAML (as GET /v1/policies/{name}?version=N; any role)', security: secured, responses: { '200': json(ref('Policy'), 'The version'), ...errors(400, 401, 404, 429) } },
      },
      '/v1/policies/{name}/reject': {
        parameters: [nameParam],
        post: {
          summary: 'Reject the latest (or the given) version with a comment; withdraws an approval (committee, audited with the comment)',
          security: secured,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', required: ['comment'], properties: { version: { type: 'integer', minimum: 1 }, comment: { type: 'string', minLength: 1, maxLength: 2000 } } } } },
          },
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['name', 'version', 'sha256', 'rejected', 'rejectedBy', 'rejectedAt', 'comment'],
                properties: {
                  name: { type: 'string' },
                  version: { type: 'integer' },
                  sha256: { type: 'string' },
                  rejected: { const: true },
                  rejectedBy: { type: 'string' },
                  rejectedAt: { type: 'string', format: 'date-time' },
                  comment: { type: 'string' },
                },
              },
              'Rejected',
            ),
            ...errors(400, 401, 403, 404, 429),
          },
        },
      },
      '/v1/policies/{name}/preview': {
        parameters: [nameParam],
        post: {
          summary: 'What a version (approved or not) would publish from a sample; the sample is deleted before the answer, nothing is stored (committee, audited)',
          security: secured,
          parameters: [{ name: 'version', in: 'query', schema: { type: 'integer', minimum: 1 }, description: 'Default: the latest version' }],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  properties: {
                    file: { type: 'string', contentMediaType: 'text/csv', description: 'A sample CSV (up to the upload limit)' },
                    jobId: { type: 'string', description: 'Or a past tabular job whose input is still present (inputs are deleted when a job ends: 409 PREVIEW_INPUT_GONE)' },
                  },
                },
              },
            },
          },
          responses: { '200': json(ref('PreviewResult'), 'The engine report and its HTML page'), ...errors(400, 401, 403, 404, 409, 413, 422, 429, 507) },
        },
      },
      '/v1/policies/{name}': {
        parameters: [nameParam],
        get: {
          summary: 'One policy: the latest (or ?version=N) version with its YAML, and all versions (any role)',
          security: secured,
          parameters: [{ name: 'version', in: 'query', schema: { type: 'integer', minimum: 1 } }],
          responses: { '200': json(ref('Policy'), 'The policy'), ...errors(400, 401, 404, 429) },
        },
        put: {
          summary: 'Store a new version of a policy (committee)',
          security: secured,
          requestBody: {
            required: true,
            content: {
              'application/yaml': { schema: { type: 'string' } },
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['policy'],
                  properties: {
                    policy: { type: 'string', description: 'The policy YAML' },
                    hierarchies: { type: 'array', items: { type: 'string', contentMediaType: 'text/csv' }, description: 'ARX hierarchy files named by the policy, matched by file name' },
                  },
                },
              },
            },
          },
          responses: {
            '201': json(
              { type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer' }, sha256: { type: 'string' }, approved: { const: false } } },
              'Stored, not yet approved',
            ),
            ...errors(400, 401, 403, 413, 429, 507),
          },
        },
      },
      '/v1/policies/{name}/approve': {
        parameters: [nameParam],
        post: {
          summary: 'Approve the latest (or the given) version, with an optional comment (committee, audited with the comment)',
          security: secured,
          requestBody: {
            required: false,
            content: { 'application/json': { schema: { type: 'object', properties: { version: { type: 'integer', minimum: 1 }, comment: { type: 'string', maxLength: 2000 } } } } },
          },
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['name', 'version', 'sha256', 'approved', 'approvedBy', 'approvedAt', 'comment'],
                properties: {
                  name: { type: 'string' },
                  version: { type: 'integer' },
                  sha256: { type: 'string' },
                  approved: { const: true },
                  approvedBy: { type: 'string' },
                  approvedAt: { type: 'string', format: 'date-time' },
                  comment: { type: ['string', 'null'] },
                },
              },
              'Approved',
            ),
            ...errors(400, 401, 403, 404, 429),
          },
        },
      },
      '/v1/tabular/jobs': jobSubmission('tabular'),
      '/v1/dicom/jobs': jobSubmission('dicom'),
      '/v1/image/jobs': jobSubmission('image'),
      '/v1/jobs': {
        get: {
          summary: 'Jobs visible to the key, newest first (researchers: their own); ?format=csv exports them (auditor, committee; audited)',
          security: secured,
          parameters: [
            queryEnum('kind', ['tabular', 'dicom', 'image'], 'Only jobs of this kind'),
            queryEnum('status', ['queued', 'running', 'done', 'failed', 'cancelled'], 'Only jobs in this state'),
            { name: 'policy', in: 'query', schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,100}$' }, description: 'Only jobs run on this policy (any version)' },
            queryEnum('format', ['json', 'csv'], 'csv: a download (Content-Disposition: attachment)'),
          ],
          responses: {
            '200': {
              description: 'Jobs (at most 500 in JSON)',
              content: { 'application/json': { schema: { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: ref('Job') } } } }, 'text/csv': { schema: { type: 'string' } } },
            },
            ...errors(400, 401, 403, 429),
          },
        },
      },
      '/v1/jobs/{id}': {
        parameters: [idParam],
        get: { summary: 'Job status and progress', security: secured, responses: { '200': json({ $ref: '#/components/schemas/Job' }, 'The job'), ...errors(401, 404, 429) } },
      },
      '/v1/jobs/{id}/events': {
        parameters: [idParam],
        get: {
          summary: 'Server-sent events for a progress bar: `event: job` with the job (as GET /v1/jobs/{id}) on each change; the stream ends when the job is done, failed or cancelled',
          security: secured,
          responses: { '200': { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors(401, 404, 429) },
        },
      },
      '/v1/jobs/{id}/cancel': {
        parameters: [idParam],
        post: {
          summary:
            'Cancel a queued or running job (the submitting researcher, or the committee; audited as job.cancelled): a queued job never starts, a running one is stopped and its partial outputs removed; status `cancelled`. Cancelling again answers the same; a done or failed job answers 409 JOB_FINISHED',
          security: secured,
          responses: { '200': json(ref('Job'), 'The job, now cancelled'), ...errors(401, 403, 404, 409, 429) },
        },
      },
      '/v1/jobs/{id}/result': {
        parameters: [idParam],
        get: {
          summary: 'The anonymized CSV (tabular) or a zip (DICOM, image); the submitting researcher only',
          security: secured,
          responses: {
            '200': { description: 'The result', content: { 'text/csv': { schema: { type: 'string' } }, 'application/zip': { schema: { type: 'string', contentMediaType: 'application/zip' } } } },
            ...errors(400, 401, 403, 404, 409, 422, 429, 507),
          },
        },
      },
      '/v1/jobs/{id}/report': {
        parameters: [idParam],
        get: {
          summary: 'The utility and risk report: JSON, or ?format=html (tabular and DICOM reports, the image review page); may be framed by the same origin only',
          security: secured,
          parameters: [{ name: 'format', in: 'query', schema: { enum: ['json', 'html'] } }],
          responses: {
            '200': { description: 'The report', content: { 'application/json': { schema: { type: 'object' } }, 'text/html': { schema: { type: 'string' } } } },
            ...errors(400, 401, 404, 409, 422, 429, 507),
          },
        },
      },
      '/v1/audit': {
        get: {
          summary: 'The hash-chained audit log, oldest first (auditor, committee); ?format=csv|json exports the whole filtered log (audited)',
          security: secured,
          parameters: [
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 5000 } },
            { name: 'action', in: 'query', schema: { type: 'string' }, description: 'Only this action, e.g. policy.approve' },
            { name: 'actor', in: 'query', schema: { type: 'string' }, description: 'Only actors whose name contains this (a key name or id)' },
            { name: 'from', in: 'query', schema: { type: 'string' }, description: 'ISO 8601 date or date-time, inclusive' },
            { name: 'to', in: 'query', schema: { type: 'string' }, description: 'ISO 8601 date (the whole day) or date-time, inclusive' },
            queryEnum('format', ['csv', 'json'], 'A download of every matching entry (Content-Disposition: attachment)'),
          ],
          responses: {
            '200': {
              description: 'Entries (a page: next links the following one, filters kept), or the export',
              content: {
                'application/json': { schema: { type: 'object', required: ['entries'], properties: { entries: { type: 'array', items: ref('AuditEntry') }, next: { type: 'string' } } } },
                'text/csv': { schema: { type: 'string' } },
              },
            },
            ...errors(400, 401, 403, 429),
          },
        },
      },
      '/v1/audit/verify': {
        get: {
          summary: 'Re-checks the keyed hash chain of the whole audit log (auditor)',
          security: secured,
          parameters: [{ name: 'expectHead', in: 'query', schema: { type: 'string', pattern: '^[a-f0-9]{64}$' }, description: 'A head written down earlier; the log must still contain it' }],
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['intact', 'entries', 'firstBroken', 'head', 'unkeyedThrough'],
                properties: {
                  intact: { type: 'boolean' },
                  entries: { type: 'integer', minimum: 0 },
                  firstBroken: { type: ['integer', 'null'], description: 'Sequence number of the first missing, altered or unlinked entry' },
                  head: { type: 'string', description: 'Hash of the last entry: write it down outside Veil' },
                  unkeyedThrough: { type: 'integer', minimum: 0, description: 'Entries an older Veil wrote without a key (verified as plain SHA-256)' },
                  expectedHeadFound: { type: 'boolean' },
                  problem: { type: 'string' },
                },
              },
              'The verdict (200 whether intact or not)',
            ),
            ...errors(400, 401, 403, 429),
          },
        },
      },
    },
  };
}
