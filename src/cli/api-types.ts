/**
 * The answers the CLI reads, by the names it uses: the client's types, which are derived from
 * the schemas that validate and document each route (one source, no copies).
 */
import type {
  Problem as ApiProblem,
  ApplyResult,
  Claim,
  Image,
  ImageWithContainers,
  Instance,
} from "../client/types.ts";

/** `GET /api/images/{id}`, and each item of `GET /api/images`, as JSON. */
export type ImageView = Image;

/** An item of `GET /api/images/with-containers`. */
export type ImageWithContainersView = ImageWithContainers;

/** An item of `GET /api/containers`. */
export type ContainerView = Instance;

/** `POST /api/images/{id}/claims`, and each item of `GET /api/claims`. */
export type ClaimView = Claim;

/** `POST /api/apply`. */
export type ApplyResponse = ApplyResult;

export type ItemsOf<Item> = { readonly items: readonly Item[] };

/** An RFC 9457 problem as the API sends it (fields optional: the CLI reads any refusal). */
export type Problem = Partial<ApiProblem>;
