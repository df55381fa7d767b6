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

-- The status of an image built from source belongs to the build pipeline, which changes it
-- only together with build_requested_at (a new build is wanted), build_started_at (one started)
-- or build_finished_at (one ended). A write that changes it without them copies a status read
-- before a build was requested, started or ended: the current status is kept. And nothing ever
-- leaves `deleting`, whatever the image.
create function images_guard_status() returns trigger language plpgsql as $$
begin
  if new.status is distinct from old.status and old.status = 'deleting' then
    new.status := old.status;
  elsif new.status is distinct from old.status
    and new.status <> 'deleting'
    and old.source_type = 'upload' and new.source_type = 'upload'
    and new.build_requested_at is not distinct from old.build_requested_at
    and new.build_started_at is not distinct from old.build_started_at
    and new.build_finished_at is not distinct from old.build_finished_at then
    new.status := old.status;
  end if;
  return new;
end $$;

create trigger images_status_guard before update of status on images
  for each row execute function images_guard_status();
