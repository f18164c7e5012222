/** The SDK's one error type (its own module so that every part of the SDK can raise it). */

export interface CroniumErrorOptions {
  status?: number | null;
  code: string;
  field?: string;
  cause?: unknown;
}

/**
 * Error raised for every SDK failure.
 *  - `status`: HTTP status, or `null` when no HTTP response was received.
 *  - `code`: the server's error code (e.g. `SECRET_NOT_GRANTED`), or one of the SDK's own
 *    codes: `NOT_IN_CRONIUM`, `INVALID_CONFIG`, `CONNECTION_FAILED`, `INVALID_RESPONSE`, `HTTP_<status>`,
 *    and for `saveArtifact()`: `FILE_NOT_FOUND`, `NOT_A_FILE`, `ARTIFACT_CONFLICT`, `ARTIFACT_WRITE_FAILED`.
 */
export class CroniumError extends Error {
  readonly status: number | null;
  readonly code: string;
  readonly field: string | undefined;

  constructor(message: string, options: CroniumErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CroniumError";
    this.status = options.status ?? null;
    this.code = options.code;
    this.field = options.field;
  }
}
