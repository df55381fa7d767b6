-- Rollouts (issue 18): where the rollout of an image's newest revision stands. One row per
-- image, written by the controller only: the revision it rolls from (the last one that was fully
-- Ready) and to, since when, when it last made progress (a new instance became ready), and how it
-- ended. A failed rollout of a user's revision rolls back to `stable_revision` by writing that
-- revision's spec again as a new revision (rollback = true); a rollback is never rolled back.

create table image_rollouts (
  image_id integer primary key references images (id) on delete cascade,
  -- The newest revision that was fully Ready (null until one was).
  stable_revision integer,
  from_revision integer,
  to_revision integer not null,
  state text not null check (state in ('progressing', 'complete', 'failed')),
  rollback boolean not null default false,
  started_at timestamptz not null,
  progressed_at timestamptz not null,
  -- Ready instances of the new revision when it last made progress.
  ready_new integer not null default 0,
  finished_at timestamptz,
  message text not null default ''
);
