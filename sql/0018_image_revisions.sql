-- Revisions (issue 18): every change of an image that needs new containers (a new build, a new
-- image reference, env, command, limits, volumes, secrets, …) is recorded with the spec it asked
-- for, in the transaction of the change. The built image (docker id) is filled in once known: by
-- the build that ran for the revision, or when the controller resolved the reference. The last
-- few revisions of an image are kept (the writer deletes older ones), and their images with them.

create table image_revisions (
  image_id integer not null references images (id) on delete cascade,
  revision integer not null,
  -- The spec as users write it (desired_state/spec-diff.ts specOfRecord), and the source it
  -- was built from (upload images): what this revision runs.
  spec jsonb not null,
  source_digest text,
  docker_image_id text,
  -- The image's generation once the change was written: the controller fills in the image id
  -- only from a pass that read this generation.
  generation integer not null,
  -- Who asked for it (the actor's name and user id; null for the controller) and why.
  actor text not null,
  actor_user_id integer,
  cause text not null,
  created_at timestamptz not null default now(),
  primary key (image_id, revision)
);
