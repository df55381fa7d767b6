-- Where an instance answers when that is not the controller's ADVERTISE_HOST (issue 17): with
-- RUNTIME=swarm, the address of the Swarm node its task runs on (Node.Status.Addr) when that is
-- another node than the controller's. Null: ADVERTISE_HOST, as before this column.
alter table instances add column host text;
