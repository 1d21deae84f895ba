import type { ApiError } from './types';

/**
 * The console's only way to the server: same-origin fetch with the session cookie (the key is
 * never held by the page). Every state-changing request carries the session's CSRF token.
 */
let csrfToken: string | undefined;

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

let sessionEnded: (() => void) | undefined;

/** Called when the server answers 401 to a signed-in request (idle timeout, key revoked). */
export function onSessionEnded(callback: (() => void) | undefined): void {
  sessionEnded = callback;
}

/** A refusal of the server, as data: status, code, message, field and a policy's issues. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly issues: { line?: number; field?: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export type Body = { json: unknown } | { text: string; type: string } | { form: FormData };

async function send(method: string, path: string, body?: Body): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let payload: BodyInit | undefined;
  if (body && 'json' in body) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body.json);
  } else if (body && 'text' in body) {
    headers['Content-Type'] = body.type;
    payload = body.text;
  } else if (body) payload = body.form;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiFailure(0, 'NETWORK', 'The server could not be reached.');
  }
  if (response.status === 401 && path !== '/v1/session') sessionEnded?.();
  if (!response.ok) throw await failureOf(response);
  return response;
}

async function failureOf(response: Response): Promise<ApiFailure> {
  const fallback = `The server answered ${response.status}.`;
  try {
    const body = (await response.json()) as Partial<ApiError>;
    const error = body.error;
    if (error) return new ApiFailure(response.status, error.code, error.message, error.field, error.issues ?? []);
  } catch {
    // not JSON: keep the status
  }
  return new ApiFailure(response.status, `HTTP_${response.status}`, fallback);
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await send('GET', path)).json()) as T;
}

export async function sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: Body): Promise<T> {
  const response = await send(method, path, body);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export async function getText(path: string): Promise<string> {
  return (await send('GET', path)).text();
}

/** `name` and `version` as they go into a path. */
export function policyPath(name: string, rest = ''): string {
  return `/v1/policies/${encodeURIComponent(name)}${rest}`;
}
