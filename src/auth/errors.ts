export class AuthenticationError extends Error {
  override name = "AuthenticationError";
}

export class ForbiddenError extends Error {
  override name = "ForbiddenError";
}
