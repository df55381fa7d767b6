-- Desired state (written by the API) and observed status (written by the controller) of images,
-- their instances, and the event log that doubles as the transactional outbox for Kafka.

create table images (
  id bigint generated always as identity primary key,
  user_id bigint not null references users (id),
  name text not null,
  -- 'reference': an existing image named by `image_reference`; 'upload': built from kept source.
  source_type text not null check (source_type in ('reference', 'upload')),
  image_reference text,
  tag text not null,
  status text not null check (status in ('pending', 'building', 'ready', 'build_failed', 'registered', 'deleting')),
  app_hostname text,
  container_port integer not null check (container_port between 1 and 65535),
  min_instances integer not null check (min_instances >= 0),
  max_instances integer not null check (max_instances >= 1),
  desired_instances integer not null check (desired_instances between min_instances and max_instances),
  cpu_limit text not null,
  nano_cpus bigint not null check (nano_cpus > 0),
  memory_limit text not null,
  memory_bytes bigint not null check (memory_bytes > 0),
  env jsonb not null default '{}',
  health_check jsonb,
  -- Bumped by every change of the spec; the controller copies it to observed_generation.
  generation bigint not null default 1,
  observed_generation bigint not null default 0,
  -- Bumped by every write of the desired state: optimistic concurrency for PATCH and apply.
  resource_version bigint not null default 1,
  conditions jsonb not null default '[]',
  -- The Docker image id the reference or build resolved to (part of every spec hash).
  docker_image_id text,
  -- Builds (uploads).
  source_path text,
  source_digest text,
  build_logs text,
  build_requested_at timestamptz,
  build_started_at timestamptz,
  build_finished_at timestamptz,
  -- GitOps inventory: the apply set that created this image, for --prune.
  apply_set text,
  deletion_requested_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, name)
);

create index images_status on images (status);

create table instances (
  id text primary key,
  image_id bigint not null references images (id) on delete cascade,
  user_id bigint not null references users (id),
  container_name text not null unique,
  -- Desired (API).
  desired_state text not null default 'running' check (desired_state in ('running', 'stopped')),
  deletion_requested_at timestamptz,
  deletion_reason text,
  -- Observed (controller).
  observed_state text not null default 'pending'
    check (observed_state in ('pending', 'creating', 'running', 'exited', 'crash_loop', 'stopped', 'removing')),
  container_id text,
  host_port integer,
  spec_hash text,
  restart_count integer not null default 0,
  consecutive_failures integer not null default 0,
  next_restart_at timestamptz,
  last_exit_code integer,
  last_error text,
  oom_killed boolean not null default false,
  health text not null default 'unknown' check (health in ('unknown', 'healthy', 'unhealthy')),
  started_at timestamptz,
  stopped_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index instances_image_id on instances (image_id);

create table events (
  -- Global order of commit; the relay publishes each image's events in this order.
  seq bigint generated always as identity primary key,
  id uuid not null unique,
  type text not null,
  subject text not null,
  image_id bigint not null,
  instance_id text,
  user_id bigint not null,
  time timestamptz not null default now(),
  data jsonb not null,
  published_at timestamptz,
  publish_attempts integer not null default 0,
  publish_error text,
  failed_at timestamptz
);

create index events_unpublished on events (seq) where published_at is null and failed_at is null;
create index events_image_seq on events (image_id, seq);
create index events_user_seq on events (user_id, seq);
create index events_time on events (time);

-- Wakes the relay and event followers once per transaction that wrote events.
create function notify_events_written() returns trigger language plpgsql as $$
begin
  perform pg_notify('orchestrator_events', '');
  return null;
end $$;

create trigger events_written after insert on events
  for each statement execute function notify_events_written();
