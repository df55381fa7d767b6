import { beforeEach, expect } from "vitest";
import { services } from "./services.ts";

/**
 * Suites that run containers of the test images (see test-images.ts). Where the images cannot
 * be made (no Docker engine, or no busybox to make them from), their tests skip at once; the
 * global setup has said, in one line, how to enable them. (Under CI that fails the run.)
 */
const needsTestImages =
  /test\/(core|health|faults|alone|swarm)\/|test\/builds\/(?!build-records)|test\/gitops\/cli-|test\/events\/e2e-service/;

beforeEach(({ skip }) => {
  const docker = services().docker;
  if (!docker.ok && needsTestImages.test(expect.getState().testPath ?? "")) skip(docker.reason);
});
