/**
 * @module
 * The base of every error the worker answers with on purpose: a stable `code` clients and tests
 * branch on, the HTTP `status`, a `message` for people. `onError` (app.ts) sends `wire()` as JSON
 * and logs `logged()` when an error says it is worth a line; anything else is an unknown 500.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type LogLevel = 'info' | 'warn' | 'error';

export class AppError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: ContentfulStatusCode, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The JSON body of the answer: `{ error, message }` and what the caller may act on. */
  wire(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.details };
  }

  /** A log line for failures an operator should see (upstream outages, misconfiguration); none for a refused request. */
  logged(): { level: LogLevel; event: string; fields: Record<string, string | number | undefined> } | undefined {
    return undefined;
  }
}
