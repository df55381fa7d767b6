-- Warm pools (issue 16): an image with `pool` in its container options keeps idle instances
-- that a key (a project) claims. A claim lives on its instance's row, so one instance can never
-- be held by two claims, and a claim is taken by updating that row (FOR UPDATE SKIP LOCKED).

alter table instances
  -- The live claim: its id (the API's handle), the key that holds it, since and until when.
  add column claim_id text,
  add column claim_key text,
  add column claimed_at timestamptz,
  add column claim_expires_at timestamptz,
  -- Released: a fresh container before it is handed out again (recycle: restart).
  add column recycle_requested_at timestamptz;

-- One instance per key and image while the claim lives; claim ids are unique.
create unique index instances_claim_key on instances (image_id, claim_key)
  where claim_key is not null;
create unique index instances_claim_id on instances (claim_id) where claim_id is not null;
-- The controller's sweep of expired claims.
create index instances_claim_expires_at on instances (claim_expires_at)
  where claim_expires_at is not null;
