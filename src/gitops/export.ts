import { Document, isScalar } from "yaml";
import type { BuildOptions } from "../domain/build-options.ts";
import { containerOptionDefaults, containerOptionNames } from "../domain/container-options.ts";
import type { ImageSpec } from "../domain/image-spec.ts";
import { canonicalJson } from "../domain/spec-hash.ts";
import { documentApiVersion, documentKind } from "./validate-document.ts";

/** An image as the API returns it (the fields export needs): its spec, name and origin. */
export type ExportableImage = Omit<ImageSpec, "image"> & {
  readonly name: string;
  /** The reference of an existing image; uploads have none (or the built one, ignored). */
  readonly image?: string | null | undefined;
  readonly source_type: "reference" | "upload";
};

/** `build` in the order of the docs, with only what differs from the defaults. */
function exportedBuild(build: BuildOptions): Partial<BuildOptions> {
  return {
    ...(Object.keys(build.args).length === 0 ? {} : { args: build.args }),
    ...(build.target === null ? {} : { target: build.target }),
    ...(build.platform === null ? {} : { platform: build.platform }),
    ...(build.no_cache ? { no_cache: true } : {}),
  };
}

/** Where an uploaded image's build context is expected: a folder beside the file. */
export function exportedSourceFolder(name: string): string {
  return `./${name}`;
}

const sourceComment =
  " must be a folder holding this image's Dockerfile: an upload's build context cannot be exported";

/**
 * One desired-state document for an image, in the field order of the docs; fields at their
 * empty default (no hostname, env or health check) are left out. An upload cannot name its
 * build context, so it gets `source: ./<name>` with a comment saying so.
 */
export function exportImageDocument(image: ExportableImage): string {
  const origin =
    image.source_type === "upload" || image.image === null || image.image === undefined
      ? { source: exportedSourceFolder(image.name) }
      : { image: image.image };
  const spec = {
    ...origin,
    tag: image.tag,
    ...(image.app_hostname === null ? {} : { app_hostname: image.app_hostname }),
    container_port: image.container_port,
    min_instances: image.min_instances,
    max_instances: image.max_instances,
    // Autoscaled: the count is the autoscaler's, and a file that says one would fight it.
    ...(image.autoscale === null || image.autoscale === undefined
      ? { desired_instances: image.desired_instances }
      : {}),
    cpu_limit: image.cpu_limit,
    memory_limit: image.memory_limit,
    ...(Object.keys(image.env).length === 0 ? {} : { env: { ...image.env } }),
    ...(image.health_check === null ? {} : { health_check: image.health_check }),
    // Container options only where they differ from what a container gets anyway.
    ...Object.fromEntries(
      containerOptionNames
        .filter(
          (name) => canonicalJson(image[name]) !== canonicalJson(containerOptionDefaults[name]),
        )
        .map((name) => [name, name === "build" ? exportedBuild(image.build) : image[name]]),
    ),
  };
  const document = new Document({
    apiVersion: documentApiVersion,
    kind: documentKind,
    metadata: { name: image.name },
    spec,
  });
  const source = document.getIn(["spec", "source"], true);
  if (isScalar(source)) source.comment = sourceComment;
  return document.toString({ lineWidth: 0 });
}

/** Every image as one multi-document stream, sorted by name. */
export function exportDocuments(images: readonly ExportableImage[]): string {
  return [...images]
    .sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0))
    .map(exportImageDocument)
    .join("---\n");
}
