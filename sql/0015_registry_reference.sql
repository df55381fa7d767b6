-- Where a built image was pushed (REGISTRY_URL), as `repository@sha256:digest`: what another
-- engine pulls to run it, and what the controller pulls back when the local build is gone.
-- Null when nothing was pushed.
alter table images add column registry_reference text;
