-- Tenants and their API tokens. Tokens are stored only as SHA-256 hashes.
create table users (
  id bigint generated always as identity primary key,
  name text not null unique check (name ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
  created_at timestamptz not null default now()
);

-- The admin token acts as this user when it creates resources without naming another one.
insert into users (name) values ('admin');

create table api_tokens (
  id bigint generated always as identity primary key,
  user_id bigint not null references users (id) on delete cascade,
  name text not null default 'default',
  token_hash text not null unique,
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);

create index api_tokens_user_id on api_tokens (user_id);
