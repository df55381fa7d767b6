-- How each container of an image runs beyond its image, primary port, env and limits (command,
-- ports, restart and pull policies, ...): src/domain/container-options.ts, canonical, as one
-- document (no query looks inside it). Rows written before have none: the defaults apply.
alter table images add column container_options jsonb not null default '{}';

-- Every published port of an instance ("8080/tcp" → host port), not only the primary one.
alter table instances add column host_ports jsonb not null default '{}';
-- A restart asked for by the API (POST /api/containers/{id}/restart): the controller stops and
-- starts the container once, then the container's start is later than this.
alter table instances add column restart_requested_at timestamptz;
