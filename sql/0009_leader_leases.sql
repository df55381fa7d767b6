-- Leader leases: one row per controller (ORCHESTRATOR_ID). Whoever takes the leader lock bumps
-- `epoch`, the fencing token: the controller's transactions hold the row FOR SHARE at the epoch
-- they were started under, so once a successor has bumped it, a deposed leader can write nothing.
create table leader_leases (
  name text primary key,
  epoch bigint not null,
  holder text not null,
  acquired_at timestamptz not null default now()
);
