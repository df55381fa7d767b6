-- Paused rollouts (issue 18): `POST /api/images/{id}/rollout/pause` holds the image's rollout
-- where it is (no more old instances replaced) until `…/rollout/resume`. Not part of the spec
-- (desired-state files and revisions leave it alone): a switch on the image, like Kubernetes'
-- `spec.paused` set by `kubectl rollout pause`.

alter table images add column rollout_paused boolean not null default false;
