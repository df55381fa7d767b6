-- When an event was published, recorded per run of seqs instead of on the event.
--
-- Until now a mark deleted the queue rows (sql/0017) and updated every event of the batch
-- (published_at, publish_attempts, publish_error): a HOT update, but still a new version of
-- each event row. On the embedded database (WebAssembly on the service's one thread) that
-- update was most of a mark: measured per batch of 500 with 20,000 pending, a mark cost
-- ~7.4 us of CPU an event, the queue delete alone ~1.5.
--
-- Now a mark deletes the queue rows and inserts one row here per run of consecutive seqs it
-- deleted (a batch is usually one run), in one statement; the events are not touched. An event
-- was published at `published_at` of the run whose [first_seq, last_seq] holds its seq; every
-- integer of a run is the seq of an event that was published then, so runs never overlap and
-- an event in none is pending (it has a queue row) or failed (failed_at). The events repository
-- derives published_at for reads (one index probe a row) and is the only writer: a mark inserts
-- runs, pruning deletes the runs whose events are all gone.
--
-- publish_attempts now counts the attempts that did not publish (retriable failures, and the
-- last one of a failed event); a read adds the one that did. publish_error of a published event
-- reads as null, as the update used to set it.

create table events_published (
  first_seq bigint primary key,
  last_seq bigint not null check (last_seq >= first_seq),
  published_at timestamptz not null
);

-- The events published so far: each run of consecutive seqs published at the same time.
insert into events_published (first_seq, last_seq, published_at)
  select min(seq), max(seq), published_at
  from (
    select seq, published_at,
      seq - row_number() over (partition by published_at order by seq) as island
    from events
    where published_at is not null
  ) as numbered
  group by published_at, island;

update events set publish_attempts = greatest(publish_attempts - 1, 0)
  where published_at is not null;

alter table events drop column published_at;
