import type { presentClaim } from "../api/claims-routes.ts";
import type { presentImage, presentInstance } from "../api/presenters.ts";
import type { ApplyResult } from "../desired/apply.ts";

/** `GET /api/images/{id}`, and each item of `GET /api/images`, as JSON. */
export type ImageView = ReturnType<typeof presentImage>;

/** An item of `GET /api/images/with-containers`. */
export type ImageWithContainersView = ImageView & {
  readonly containers: {
    readonly total: number;
    readonly running: number;
    readonly stopped: number;
    readonly failing: number;
    /** Instances held by a claim (pooled images). */
    readonly claimed?: number;
  };
};

/** An item of `GET /api/containers`. */
export type ContainerView = ReturnType<typeof presentInstance>;

/** `POST /api/images/{id}/claims`, and each item of `GET /api/claims`. */
export type ClaimView = ReturnType<typeof presentClaim>;

/** `POST /api/apply`. */
export type ApplyResponse = ApplyResult;

export type ItemsOf<Item> = { readonly items: readonly Item[] };

/** An RFC 9457 problem as the API sends it. */
export type Problem = {
  readonly code?: string;
  readonly title?: string;
  readonly detail?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string }[];
};
