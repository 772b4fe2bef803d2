import { HttpException } from '@nestjs/common';

/**
 * Every error the API returns: an HTTP status, a machine-readable code and one human sentence.
 * The global filter renders it as `{ error: { code, message } }`.
 */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super({ error: { code, message, ...(details ? { details } : {}) } }, status);
  }

  static badRequest(code: string, message: string, details?: Record<string, unknown>): ApiError {
    return new ApiError(400, code, message, details);
  }
  static unauthorized(message = 'sign in, or send a valid API key, as Authorization: Bearer <token>'): ApiError {
    return new ApiError(401, 'unauthenticated', message);
  }
  static forbidden(message: string): ApiError {
    return new ApiError(403, 'forbidden', message);
  }
  static notFound(code: string, message: string): ApiError {
    return new ApiError(404, code, message);
  }
  static conflict(code: string, message: string): ApiError {
    return new ApiError(409, code, message);
  }
}
