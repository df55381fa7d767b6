-- Builds of images uploaded as source: which build is wanted, what asked for it, and how the
-- last one ended. One row per upload image, owned by the build pipeline.
create table image_builds (
  image_id bigint primary key references images (id) on delete cascade,
  -- The build wanted now. Bumped by every request (upload, new source, rebuild, built image
  -- missing); a build records the value it claimed, and its result is written only while the
  -- value is unchanged, so a superseded build never overwrites a newer one.
  generation bigint not null default 0,
  -- What asked for it: upload, source, rebuild, image_missing.
  trigger text not null,
  -- How the last finished build failed (timeout, step_failed, build_error), in one line.
  failure_reason text,
  error text,
  updated_at timestamptz not null default now()
);

-- The status of an image built from source belongs to the build pipeline: unless a new build
-- was requested (build_requested_at moves on every request) it only moves forward, pending →
-- building → ready | build_failed, or to deleting. And nothing ever leaves deleting. A write
-- that would move it otherwise (a status copied from a read made before a build started or
-- ended, or before a deletion) keeps the current status.
create function images_guard_status() returns trigger language plpgsql as $$
declare
  rank_old integer := case old.status
    when 'pending' then 0 when 'registered' then 0 when 'building' then 1
    when 'ready' then 2 when 'build_failed' then 2 else 3 end;
  rank_new integer := case new.status
    when 'pending' then 0 when 'registered' then 0 when 'building' then 1
    when 'ready' then 2 when 'build_failed' then 2 else 3 end;
begin
  if new.status is distinct from old.status and old.status = 'deleting' then
    new.status := old.status;
  elsif new.status is distinct from old.status
    and old.source_type = 'upload' and new.source_type = 'upload'
    and new.build_requested_at is not distinct from old.build_requested_at
    and (rank_new < rank_old or (rank_new = 2 and rank_old = 2)) then
    new.status := old.status;
  end if;
  return new;
end $$;

create trigger images_status_guard before update of status on images
  for each row execute function images_guard_status();
