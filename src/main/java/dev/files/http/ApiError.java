package dev.files.http;

import dev.files.error.Kind;
import dev.files.error.ServiceException;

/**
 * A client-visible failure built from an HTTP status: a {@link ServiceException} of the kind the
 * status stands for. To be removed: kept only for the upload handlers until they throw
 * {@link ServiceException} with a {@link Kind} themselves; new code uses {@link ServiceException}.
 */
public class ApiError extends ServiceException {

  public ApiError(int status, String message) {
    super(kindOf(status), message);
  }

  /** The HTTP status of this failure (docs/api.md, "Errors"). */
  public int status() {
    return dev.files.error.ErrorAnswer.status(kind());
  }

  public static ApiError badRequest(String message) {
    return new ApiError(400, message);
  }

  public static ApiError notFound(String message) {
    return new ApiError(404, message);
  }

  /** The kind an HTTP status stands for: 503 a dependency down, an unknown status an internal error. */
  static Kind kindOf(int status) {
    return switch (status) {
      case 400 -> Kind.BAD_REQUEST;
      case 401 -> Kind.UNAUTHORIZED;
      case 403 -> Kind.FORBIDDEN;
      case 404 -> Kind.NOT_FOUND;
      case 405 -> Kind.METHOD_NOT_ALLOWED;
      case 408 -> Kind.TIMEOUT;
      case 409 -> Kind.CONFLICT;
      case 410 -> Kind.GONE;
      case 412 -> Kind.PRECONDITION_FAILED;
      case 413 -> Kind.TOO_LARGE;
      case 415 -> Kind.UNSUPPORTED_TYPE;
      case 416 -> Kind.RANGE_NOT_SATISFIABLE;
      case 460 -> Kind.CHECKSUM_MISMATCH;
      case 503 -> Kind.UNAVAILABLE;
      case 507 -> Kind.FULL;
      default -> Kind.INTERNAL;
    };
  }
}
