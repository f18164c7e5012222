/** Errors as typed values: every failure the API reports has a stable code, an HTTP status and, for bad input, the field. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'IMAGE_CHECK_FAILED'
  | 'IMAGE_EXISTS'
  | 'EGRESS_RULE_EXISTS'
  | 'LAST_ADMIN'
  | 'USER_DISABLED'
  | 'QUEUE_FULL'
  | 'USER_QUEUE_FULL'
  | 'EXECUTION_NOT_CANCELLABLE'
  | 'EXECUTION_NOT_RUNNING'
  | 'ISOLATION_NOT_AVAILABLE'
  | 'ISOLATION_NOT_ALLOWED'
  | 'EXECUTION_DISABLED'
  | 'SECRET_NOT_FOUND'
  | 'SECRET_NOT_GRANTED'
  | 'VARIABLE_NOT_FOUND'
  | 'SERVICE_UNAVAILABLE'
  | 'RANGE_NOT_SATISFIABLE'
  | 'ARTIFACT_GONE'
  | 'INTERNAL';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toJSON(): { error: { code: ErrorCode; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export const badRequest = (message: string, field?: string) => new AppError('VALIDATION_FAILED', 400, message, field);
export const notFound = (what: string) => new AppError('NOT_FOUND', 404, `${what} not found`);
export const forbidden = (message: string) => new AppError('FORBIDDEN', 403, message);
export const unauthorized = (message: string) => new AppError('UNAUTHORIZED', 401, message);
export const tooLarge = (message: string, field?: string) => new AppError('PAYLOAD_TOO_LARGE', 413, message, field);
