-- The relay's queue of events still to publish, apart from the event log.
--
-- Until now the relay found pending rows through a partial index on events
-- (where published_at is null and failed_at is null). On the embedded database
-- (one WebAssembly backend on the service's only thread, no autovacuum) two
-- statements cost the relay most of its time, measured per batch of 500 with
-- 20,000 pending: reading the next batch while one is in flight (the in-flight
-- seqs left out with a 500-item NOT IN list) 17-27 ms, and marking a batch
-- 15-28 ms, because marking changed a column of that index's predicate: every
-- published event became a new row version with an entry in each of the
-- table's six indexes.
--
-- Now the next batch is the head of the queue's primary key, and a mark is a
-- delete from the queue plus a HOT update of the event (no index touched: the
-- changed columns are in no index, and fillfactor leaves room for the new
-- version on its page): 6-10 ms and 3-6 ms in the same measurement.
--
-- The events repository is the only writer of both: an append inserts the
-- events and their queue rows in one statement; a mark (published or failed)
-- deletes the queue rows and updates the events in one statement; pruning
-- deletes both. Nothing else may insert into events.

create table events_pending (
  seq bigint primary key
);

insert into events_pending (seq)
  select seq from events where published_at is null and failed_at is null;

drop index events_unpublished;

-- An event is written once and marked once: room for that second version on its page.
alter table events set (fillfactor = 50);
