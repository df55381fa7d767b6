import type { Problem } from "../api/schemas/problem-schemas.ts";

/** The problem+json codes the API answers with (`code`), snake_case. */
export type ProblemCode = Problem["code"];

/**
 * The names the earlier TypeScript library used for its error codes, and the API codes each
 * stands for: code written against that library keeps working (`error.is("PORT_IN_USE")`).
 */
export const legacyCodes = {
  IMAGE_NOT_FOUND: ["image_not_found"],
  PORT_IN_USE: ["port_in_use"],
  DEPENDENCY_FAILED: ["dependency_failed"],
  MAX_INSTANCES_EXCEEDED: ["max_instances_exceeded"],
  QUOTA_EXCEEDED: ["quota_exceeded"],
  NAME_TAKEN: ["name_taken"],
  VALIDATION_FAILED: ["validation_failed"],
  UNAUTHORIZED: ["unauthorized"],
  FORBIDDEN: ["forbidden"],
  NOT_FOUND: ["not_found", "image_not_found"],
  CONFLICT: ["conflict", "stale_resource_version", "autoscaler_owns_desired_instances"],
  RATE_LIMITED: ["rate_limited", "too_many_uploads"],
  UNAVAILABLE: ["unavailable"],
} as const satisfies Record<string, readonly string[]>;

export type LegacyCode = keyof typeof legacyCodes;

/**
 * A refusal of the API (or no answer at all: status 0, code `unreachable`): the HTTP status,
 * the problem's `code`, and the whole problem body (field `errors`, quota's `limit`, …).
 */
export class OrchestratorError extends Error {
  override name = "OrchestratorError";
  readonly status: number;
  readonly code: ProblemCode | "unreachable" | "unexpected";
  readonly problem: Problem | undefined;

  constructor(
    status: number,
    code: OrchestratorError["code"],
    message: string,
    problem?: Problem,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.problem = problem;
  }

  /** The earlier library's name of this error, when it had one (`IMAGE_NOT_FOUND`, …). */
  get legacyCode(): LegacyCode | undefined {
    // A missing image by id answers `not_found` on an image route.
    if (this.code === "not_found" && /^\/api\/images\/\d+/.test(this.problem?.instance ?? ""))
      return "IMAGE_NOT_FOUND";
    const found = (Object.entries(legacyCodes) as Array<[LegacyCode, readonly string[]]>).find(
      ([, codes]) => codes[0] === this.code,
    );
    return found?.[0];
  }

  /** Whether this is `code`: an API code (`port_in_use`) or the earlier name (`PORT_IN_USE`). */
  is(code: ProblemCode | LegacyCode): boolean {
    if (code === this.code) return true;
    if (code in legacyCodes) {
      return (
        (legacyCodes[code as LegacyCode] as readonly string[]).includes(this.code) ||
        this.legacyCode === code
      );
    }
    return false;
  }
}
