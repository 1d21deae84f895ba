/**
 * The OpenAPI 3.1 description of every route, served at GET /openapi.json.
 * test/api/openapi.test.ts checks that it names exactly the routes the app answers.
 */
type Json = Record<string, unknown>;

const errorRef = { $ref: '#/components/schemas/Error' };

const health = (status: string): Json => ({
  type: 'object',
  required: ['status', 'freeBytes', 'minFreeBytes'],
  properties: { status: { const: status }, freeBytes: { type: ['integer', 'null'] }, minFreeBytes: { type: 'integer' } },
});

function errors(...statuses: number[]): Json {
  const text: Record<number, string> = {
    400: 'Bad input (field names the part or policy field)',
    401: 'Missing or unknown API key',
    403: 'The key has the wrong role',
    404: 'Not found (or not visible to this key)',
    409: 'Policy not approved, or job not finished',
    413: 'Upload or body too large',
    422: 'The data cannot satisfy the policy',
    429: 'Rate limit of this key or of this client address reached',
    507: 'The server is out of disk space (DISK_FULL)',
  };
  return Object.fromEntries(statuses.map((s) => [String(s), { description: text[s], content: { 'application/json': { schema: errorRef } } }]));
}

const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const secured = [{ bearer: [] }];
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
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key from `veil keys create`' } },
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
        Job: {
          type: 'object',
          required: ['id', 'kind', 'status', 'progress'],
          properties: {
            id: { type: 'string' },
            kind: { enum: ['tabular', 'dicom', 'image'] },
            status: { enum: ['queued', 'running', 'done', 'failed'] },
            progress: { type: 'number', minimum: 0, maximum: 1 },
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
            'hash = sha256 hex of JSON [seq, at, actor, role, action, target, policy.name|null, policy.version|null, policy.sha256|null, prevHash]; the first prevHash is 64 zeros',
          properties: {
            seq: { type: 'integer' },
            at: { type: 'string', format: 'date-time' },
            actor: { type: 'string' },
            role: { type: 'string' },
            action: { type: 'string' },
            target: { type: 'string' },
            policy: { $ref: '#/components/schemas/PolicyRef' },
            hash: { type: 'string' },
            prevHash: { type: 'string' },
          },
        },
      },
    },
    paths: {
      '/healthz': {
        get: {
          summary: 'Liveness and free space of the data dir',
          responses: {
            '200': json(health('ok'), 'Up, with at least minFreeBytes free'),
            '503': json(health('degraded'), 'Up, but short of space (or the free-space probe failed): uploads and jobs may fail with DISK_FULL'),
          },
        },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1') } } },
      '/v1/policies': {
        get: { summary: 'List policies (any role)', security: secured, responses: { '200': json({ type: 'object' }, 'Policies with their latest and approved versions'), ...errors(401, 429) } },
      },
      '/v1/policies/{name}': {
        parameters: [nameParam],
        get: {
          summary: 'One policy: the latest (or ?version=N) version with its YAML, and all versions (any role)',
          security: secured,
          parameters: [{ name: 'version', in: 'query', schema: { type: 'integer', minimum: 1 } }],
          responses: { '200': json({ type: 'object' }, 'The policy'), ...errors(400, 401, 404, 429) },
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
          summary: 'Approve the latest (or the given) version (committee)',
          security: secured,
          requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { version: { type: 'integer', minimum: 1 } } } } } },
          responses: {
            '200': json({ type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer' }, approved: { const: true } } }, 'Approved'),
            ...errors(400, 401, 403, 404, 429),
          },
        },
      },
      '/v1/tabular/jobs': jobSubmission('tabular'),
      '/v1/dicom/jobs': jobSubmission('dicom'),
      '/v1/image/jobs': jobSubmission('image'),
      '/v1/jobs': {
        get: {
          summary: 'Jobs visible to the key (researchers: their own)',
          security: secured,
          responses: { '200': json({ type: 'object', properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/Job' } } } }, 'Jobs'), ...errors(401, 429) },
        },
      },
      '/v1/jobs/{id}': {
        parameters: [idParam],
        get: { summary: 'Job status and progress', security: secured, responses: { '200': json({ $ref: '#/components/schemas/Job' }, 'The job'), ...errors(401, 404, 429) } },
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
          summary: 'The utility and risk report: JSON, or ?format=html',
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
          summary: 'The hash-chained audit log, oldest first (auditor, committee)',
          security: secured,
          parameters: [
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 5000 } },
          ],
          responses: {
            '200': json({ type: 'object', properties: { entries: { type: 'array', items: { $ref: '#/components/schemas/AuditEntry' } }, next: { type: 'string' } } }, 'Entries'),
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
