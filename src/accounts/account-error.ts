/** Why a change of users, tokens or quotas was refused; the API maps the code to a problem. */
export type AccountErrorCode = "not_found" | "name_taken" | "forbidden" | "validation_failed";

export class AccountError extends Error {
  override name = "AccountError";
  readonly code: AccountErrorCode;
  /** The request field at fault, for `validation_failed`. */
  readonly field: string | undefined;

  constructor(code: AccountErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}
