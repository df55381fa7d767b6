-- Built images are named {prefix}-u{user}-i{image}-{build_token}:{tag}. The token is random and
-- never shown to anyone but the image's owner: a name nobody else can know is a name nobody else
-- can build FROM (BuildKit and the classic builder both resolve local tags) or run. Existing
-- upload images get a token too; their earlier builds no longer match and are built again.
alter table images add column build_token text not null
  default replace(gen_random_uuid()::text, '-', '');
