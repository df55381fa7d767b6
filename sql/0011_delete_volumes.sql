-- DELETE /api/images/{id}?volumes=true: once the image's containers are gone, the controller also
-- removes the named volumes its spec mounts that no other image of the tenant names. Volumes are
-- never removed otherwise (only by DELETE /api/volumes/{name}).
alter table images add column delete_volumes boolean not null default false;
