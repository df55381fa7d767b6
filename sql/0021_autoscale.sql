-- The autoscaler's latest look at each autoscaled image (issue 21): written by the leading
-- controller at every evaluation, read by GET /api/images/{id}/autoscale on any replica. The
-- decisions that moved desired_instances are `image.scaled` events (data.metric, value, target,
-- from, to, reason); the recommendations of the stabilization window stay in the leader's
-- memory, as in Kubernetes' HPA.
create table autoscale_status (
  image_id bigint primary key references images (id) on delete cascade,
  evaluated_at timestamptz not null,
  metric text not null,
  -- The mean per running instance the decision used (missing samples filled), or null.
  value double precision,
  target double precision not null,
  desired_instances integer not null,
  -- What the samples alone ask for, before the step limit and the stabilization window.
  recommendation integer not null,
  reason text not null,
  -- Running instances considered, and how many of them had no recent sample.
  instances integer not null,
  missing integer not null
);

-- The autoscaler reads the newest sample of each instance of one image within the last few
-- monitor intervals, every round: by image and time, not by scanning every image's samples.
create index health_snapshots_image_time on health_snapshots (image_id, sampled_at desc);
