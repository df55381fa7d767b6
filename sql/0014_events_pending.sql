-- The relay's queue of events still to publish, apart from the event log.
--
-- Until now the relay found pending rows through a partial index on events
-- (where published_at is null and failed_at is null). Two costs came with it on
-- the embedded database, which has no autovacuum and so no statistics: the
-- planner expected two pending rows and read every pending event (a bitmap scan
-- and a sort) to return the first 500, so draining a backlog cost the square of
-- its size; and marking a row changed a column of that index's predicate, so
-- every mark was a full new row version with an entry in each of the table's
-- six indexes. With the queue in its own narrow table and free space left on
-- each page of events (fillfactor), the next batch is the head of the queue's
-- primary key, and a mark is a delete from the queue plus a HOT update of the
-- event (no index touched).
--
-- The events repository is the only writer of both: an append inserts the
-- events and their queue rows in one statement; a mark (published or failed)
-- deletes the queue rows and updates the events in one statement; pruning
-- deletes both.

create table events_pending (
  seq bigint primary key
);

insert into events_pending (seq)
  select seq from events where published_at is null and failed_at is null;

drop index events_unpublished;

-- An event is written once and marked once: room for that second version on its page.
alter table events set (fillfactor = 50);
