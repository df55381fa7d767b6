import { realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { containerOptionDefaults } from "../../src/domain/container-options.ts";
import {
  type ExportableImage,
  exportDocuments,
  exportImageDocument,
} from "../../src/gitops/export.ts";
import { loadDocuments } from "../../src/gitops/load.ts";
import { removeTree, tempTree } from "./temp-tree.ts";

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map(removeTree));
});

const base: Omit<ExportableImage, "name" | "source_type"> = {
  tag: "latest",
  image: null,
  app_hostname: null,
  container_port: 8080,
  min_instances: 0,
  max_instances: 10,
  desired_instances: 1,
  cpu_limit: "1",
  memory_limit: "512m",
  env: {},
  health_check: null,
  ...containerOptionDefaults,
};

const images: ExportableImage[] = [
  {
    ...base,
    name: "shop",
    source_type: "upload",
    image: "orch-u1-i3:v3",
    tag: "v3",
    app_hostname: "shop.example.com",
    min_instances: 1,
    max_instances: 5,
    desired_instances: 3,
    cpu_limit: "0.5",
    memory_limit: "256m",
    env: { LOG_LEVEL: "info", EMPTY: "", QUOTED: 'say "hi" # not a comment' },
  },
  {
    ...base,
    name: "web",
    source_type: "reference",
    image: "nginx:1.27",
    health_check: {
      http_path: "/healthz",
      interval: "5s",
      timeout: "1s",
      retries: 2,
      start_period: "1m30s",
    },
  },
  { ...base, name: "worker", source_type: "reference", image: "registry:5000/team/worker:2" },
];

function specOf(image: ExportableImage) {
  const { name: _name, source_type, image: reference, ...rest } = image;
  return source_type === "reference" ? { ...rest, image: reference } : rest;
}

describe("export → loadDocuments", () => {
  it("gives back every image's canonical spec, from one file or one file per image", async () => {
    const root = await tempTree({
      ".git/": "",
      "one/shop/Dockerfile": "FROM scratch\n",
      "each/shop/Dockerfile": "FROM scratch\n",
    });
    roots.push(root);
    await writeFile(join(root, "one/images.yaml"), exportDocuments(images));
    for (const image of images) {
      await writeFile(join(root, "each", `${image.name}.yaml`), exportImageDocument(image));
    }
    for (const folder of ["one", "each"]) {
      const result = await loadDocuments([join(root, folder)]);
      expect(result.errors).toEqual([]);
      expect(result.documents.map((document) => [document.name, document.spec])).toEqual(
        images.map((image) => [image.name, specOf(image)]),
      );
      expect(result.documents[0]?.source).toBe(await realpath(join(root, folder, "shop")));
    }
  });

  it("asks for the build context of an upload when its folder is missing", async () => {
    const root = await tempTree({ ".git/": "" });
    roots.push(root);
    await writeFile(join(root, "images.yaml"), exportDocuments(images));
    const result = await loadDocuments([root]);
    expect(result.errors.map((error) => `${error.line}:${error.column}: ${error.message}`)).toEqual(
      ['6:11: folder "./shop" does not exist'],
    );
  });
});
