-- An event's data is stored as json (its text, as the service wrote it), no longer as jsonb.
--
-- The relay sends every event's data as the database prints it (spliced into the CloudEvent
-- unparsed). Printing jsonb rebuilds the text from the binary form (every number through
-- numeric's output): on the embedded database (WebAssembly on the service's one thread) that
-- was ~3 us of CPU an event of the ~10 it took to read a batch of 500, of a drain's ~55. json
-- prints what it stores; its input only checks the syntax, so writing an event costs less too.
-- Nothing queries inside an event's data with jsonb operators (the autoscaler's decisions test
-- for the key `metric` with ->). Data already written is printed once more here (jsonb's form:
-- keys by length, a space after ':' and ','); new events keep the service's key order.

alter table events alter column data type json using data::json;
