package dev.files.auth;

/** A request without a usable token: missing, malformed, expired, wrongly signed (HTTP 401). */
public class AuthException extends RuntimeException {
  public AuthException(String message) {
    super(message, null, false, false);
  }
}
