-- Per-tenant secrets and registry credentials (issue 14). Values and passwords are stored only
-- as AES-256-GCM ciphertext (src/secrets/cipher.ts: "v1.<iv>.<tag>.<ciphertext>", base64),
-- bound to their owner and name, under SECRETS_KEY or DATA_DIR/secrets.key: the database alone
-- never holds a readable value.

create table secrets (
  id bigint generated always as identity primary key,
  user_id bigint not null references users (id) on delete cascade,
  name text not null,
  ciphertext text not null,
  -- 1 at creation, +1 at every replacement: with the id, what the spec hash of the containers
  -- using it includes (a new value rolls them; the value itself is never hashed).
  version bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, name)
);

create table registry_credentials (
  id bigint generated always as identity primary key,
  user_id bigint not null references users (id) on delete cascade,
  -- host[:port] as references name it (docker.io for Docker Hub).
  server text not null,
  username text not null,
  password_ciphertext text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, server)
);
