/**
 * @module
 * The SPA's one door to the worker. Every answer that is not 2xx becomes an `ApiError` carrying
 * the worker's stable `error` code, its message, and, when WeCom answered with an error code,
 * `errcode` and the admin `hint` (docs/api.md). Screens branch on `status` and `code`, never on text.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | undefined;
  readonly errcode: number | undefined;
  /** The whole error body, for the few answers that carry more (a 412 carries `current`). */
  readonly body: Readonly<Record<string, unknown>>;

  constructor(status: number, code: string, message: string, extra: { hint?: string | undefined; errcode?: number | undefined; body?: Record<string, unknown> } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.hint = extra.hint;
    this.errcode = extra.errcode;
    this.body = extra.body ?? {};
  }
}

/**
 * What a store keeps from a failed call. `request` throws `ApiError`s; anything else is a bug on
 * this side, kept as an `unexpected` error with status 0 so the screen still says something.
 */
export function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'unexpected', error instanceof Error ? error.message : String(error));
}

type Listener = (error: ApiError) => void;
const unauthorizedListeners = new Set<Listener>();

/**
 * A 401 in the middle of use means the session ended (expired, revoked, account deactivated).
 * The session store listens here once, so no screen has to remember to check.
 */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function errorFrom(status: number, payload: unknown): ApiError {
  const body = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
  const code = typeof body.error === 'string' ? body.error : `http_${status}`;
  const message = typeof body.message === 'string' ? body.message : `HTTP ${status}`;
  const hint = typeof body.hint === 'string' && body.hint !== '' ? body.hint : undefined;
  const errcode = typeof body.errcode === 'number' ? body.errcode : undefined;
  return new ApiError(status, code, message, { hint, errcode, body });
}

export async function request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.signal) init.signal = options.signal;

  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    // No answer at all: offline, DNS, the worker unreachable. Status 0 keeps it apart from HTTP errors.
    throw new ApiError(0, 'network_error', cause instanceof Error ? cause.message : String(cause));
  }

  const text = await response.text();
  let payload: unknown = undefined;
  if (text !== '') {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
  }
  if (!response.ok) {
    const error = errorFrom(response.status, payload);
    if (response.status === 401) for (const listener of unauthorizedListeners) listener(error);
    throw error;
  }
  if (payload === undefined && text !== '') throw new ApiError(response.status, 'bad_response', 'The worker answered with something that is not JSON');
  return payload as T;
}
