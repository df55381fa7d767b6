/** Why a desired-state change was refused; the API maps the code to an HTTP problem. */
export type DesiredStateErrorCode =
  | "not_found"
  | "revision_not_found"
  | "revision_image_gone"
  | "name_taken"
  | "conflict"
  | "max_instances_exceeded"
  | "min_instances_violated"
  | "stale_resource_version"
  | "autoscaler_owns_desired_instances"
  | "image_not_found"
  | "image_not_allowed"
  | "quota_exceeded"
  | "forbidden"
  | "port_in_use"
  | "hostname_taken"
  | "volume_in_use"
  | "secret_in_use"
  | "pool_exhausted"
  | "validation_failed";

export type DesiredStateFieldError = { readonly path: string; readonly message: string };

export class DesiredStateError extends Error {
  override name = "DesiredStateError";
  readonly code: DesiredStateErrorCode;
  readonly errors: readonly DesiredStateFieldError[] | undefined;
  readonly extensions: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: DesiredStateErrorCode,
    message: string,
    options: {
      errors?: readonly DesiredStateFieldError[];
      extensions?: Readonly<Record<string, unknown>>;
    } = {},
  ) {
    super(message);
    this.code = code;
    this.errors = options.errors;
    this.extensions = options.extensions;
  }
}
