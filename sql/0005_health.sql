-- Health: probe state on instances, and resource snapshots sampled by the health monitor.

alter table instances add column last_logs text;
alter table instances add column probe_failures integer not null default 0;
alter table instances add column last_probe jsonb;

create table health_snapshots (
  id bigint generated always as identity primary key,
  instance_id text not null,
  image_id bigint not null,
  user_id bigint not null,
  container_id text,
  sampled_at timestamptz not null default now(),
  -- Percent of the container's own CPU and memory limits; host disk usage percent.
  cpu_usage double precision,
  memory_usage double precision,
  memory_bytes bigint,
  disk_usage double precision,
  network_rx_bytes bigint,
  network_tx_bytes bigint,
  block_read_bytes bigint,
  block_write_bytes bigint,
  status text not null check (status in ('healthy', 'warning', 'critical', 'stopped')),
  probe jsonb
);

create index health_snapshots_instance_time on health_snapshots (instance_id, sampled_at desc);
create index health_snapshots_time on health_snapshots (sampled_at);
