import type { ImageRecord } from "./model.ts";

/**
 * Whether the image's rollout is paused (`rollout_paused` on the image row; a row without the
 * column, or null, is not paused). While paused no rollout step starts; heals still happen.
 */
export function isRolloutPaused(image: ImageRecord): boolean {
  return (
    (image as ImageRecord & { readonly rollout_paused?: boolean | null }).rollout_paused === true
  );
}
