/**
 * Creates of one name racing each other through every way in (JSON, apply, multipart upload)
 * answer 409, never 500, and leave exactly one image of that name; on both backends (the
 * server's connection pool really runs them at once).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveOf, startBuildServer, uploadImage, webApp } from "../builds/build-support.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import type { TestServer } from "../support/test-server.ts";

const racers = 12;

describe.each(backends())("unique-name races on %s", (backend) => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    // Uploads race here too: room for all of them at once.
    server = await startBuildServer({ backend, env: { UPLOAD_MAX_CONCURRENT: "16" } });
    token = await server.createUser("racer");
  });
  afterAll(() => server?.stop());

  const reference = (name: string) => ({
    name,
    image: testImages.httpd,
    desired_instances: 0,
    min_instances: 0,
  });
  const imagesNamed = async (name: string) =>
    (await server.request("GET", "/api/images", { token })).body.items.filter(
      (image: { name: string }) => image.name === name,
    );
  const statuses = (answers: ReadonlyArray<{ status: number }>) =>
    answers.map((answer) => answer.status).sort();

  it("JSON: one 201, every other create a 409 name_taken", async () => {
    const answers = await Promise.all(
      Array.from({ length: racers }, () =>
        server.request("POST", "/api/images", { token, body: reference("json-race") }),
      ),
    );
    expect(statuses(answers)).toEqual([201, ...Array(racers - 1).fill(409)]);
    for (const answer of answers.filter((candidate) => candidate.status === 409)) {
      expect(answer.body.code).toBe("name_taken");
    }
    expect(await imagesNamed("json-race")).toHaveLength(1);
  });

  it("apply: one set creates it, every other set is refused with 409", async () => {
    const answers = await Promise.all(
      Array.from({ length: racers }, (_, index) =>
        server.request("POST", "/api/apply", {
          token,
          body: { set: `set-${index}`, documents: [reference("apply-race")] },
        }),
      ),
    );
    expect(statuses(answers)).toEqual([200, ...Array(racers - 1).fill(409)]);
    for (const answer of answers.filter((candidate) => candidate.status === 409)) {
      // Lost the race at the unique constraint, or came after and found another set's image.
      expect(["name_taken", "conflict"]).toContain(answer.body.code);
    }
    expect(await imagesNamed("apply-race")).toHaveLength(1);
  });

  it("uploads and JSON creates of one name: never a 500, one image in the end", async () => {
    const archive = await archiveOf("tar.gz", webApp("race"));
    const answers = await Promise.all(
      Array.from({ length: racers }, (_, index) =>
        index % 2 === 0
          ? uploadImage(
              server,
              { name: "mixed-race", desired_instances: "0", min_instances: "0" },
              archive,
              { token },
            )
          : server.request("POST", "/api/images", { token, body: reference("mixed-race") }),
      ),
    );
    // 201 registered, 202 uploaded (or a new source for the upload image that won), 409 lost.
    for (const answer of answers) {
      expect([201, 202, 409]).toContain(answer.status);
      if (answer.status === 409) expect(answer.body.code).toBe("name_taken");
    }
    expect(
      answers.filter((answer) => answer.status === 201 || answer.status === 202).length,
    ).toBeGreaterThanOrEqual(1);
    expect(await imagesNamed("mixed-race")).toHaveLength(1);
  });
});
