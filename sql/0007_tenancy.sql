-- Tenancy (issue 12): managed tokens, per-user quota overrides, and the audit log.

-- A token's scope: `read` (GET only), `write` (the user's own resources), `admin` (anyone's).
-- Revoking a token deletes its row; the audit log keeps what it was.
alter table api_tokens
  add column scope text not null default 'write' check (scope in ('read', 'write', 'admin')),
  add column expires_at timestamptz;

-- Per-user quota overrides set by the admin; null means the configured default.
alter table users
  add column quota_images integer check (quota_images >= 0),
  add column quota_instances integer check (quota_instances >= 0),
  add column quota_nano_cpus bigint check (quota_nano_cpus >= 0),
  add column quota_memory_bytes bigint check (quota_memory_bytes >= 0),
  add column quota_concurrent_builds integer check (quota_concurrent_builds >= 0);

-- Who changed what, when: one row per desired-state write and per user, token or quota change,
-- written in the transaction of the change. No foreign keys: the record outlives what it names.
create table audit_log (
  id bigint generated always as identity primary key,
  time timestamptz not null default now(),
  -- The acting user (null: the controller itself) and the token it used (null: the admin token
  -- of the configuration, or the controller).
  actor_user_id bigint,
  actor text not null,
  token_id bigint,
  token_name text,
  request_id text,
  action text not null,
  -- Whose resource changed, and which image when it was one.
  user_id bigint,
  image_id bigint,
  target text not null,
  -- The fields that changed: their values before and after.
  old_value jsonb,
  new_value jsonb
);

create index audit_log_user_id on audit_log (user_id, id);
create index audit_log_image_id on audit_log (image_id, id);
create index audit_log_actor_user_id on audit_log (actor_user_id, id);
