/**
 * The dashboard end to end (issue 19): Debian's chromium, driven by playwright-core, against a
 * real server and Docker engine. One user's whole journey (log in, upload a folder, watch the
 * build log, instances appear, scale 1 → 3, a container killed behind the server's back shows
 * its restart, events arrive, delete), screenshots at 1280 and 390 px (test-artifacts/dashboard/),
 * axe-core on both widths, and two attacks: another user's session sees nothing of the first's,
 * and a write without the CSRF token is refused.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBuildServer, webApp } from "../builds/build-support.ts";
import { docker } from "../support/docker-helpers.ts";
import { backends, hasDocker } from "../support/services.ts";
import { suiteSetup } from "../support/suite-setup.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { hasChromium, launchChromium, screenshot, seriousViolations } from "./browser.ts";

/** Generous: two busy cores build, start containers and run a browser at once. */
const deadline = { timeout: 90_000 };

/**
 * A browser context whose every wait (a page load, a field to fill) is as generous as
 * `deadline`, not playwright's 30 s: under a loaded CI a first page load took longer than that.
 */
async function openContext(
  browser: Browser,
  viewport: { width: number; height: number },
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(deadline.timeout);
  context.setDefaultNavigationTimeout(deadline.timeout);
  return context;
}

describe.runIf(hasDocker() && (hasChromium() || process.env.CI)).each(backends())(
  "the dashboard in chromium on %s",
  (backend) => {
    let server: TestServer;
    let browser: Browser;
    let alice: BrowserContext;
    let page: Page;
    let aliceToken: string;
    let bobToken: string;
    let sourceDir: string;
    let imageId: number;
    /** Printed by a RUN step: unique per server, so no cached layer from an earlier run hides it. */
    let buildMarker: string;

    const setup = suiteSetup();
    beforeAll(async () => {
      server = await setup.make(
        "the build server",
        () =>
          startBuildServer({
            backend,
            env: { RESYNC_INTERVAL_SECONDS: "3", HEALTH_INTERVAL_SECONDS: "2" },
          }),
        (made) => made.stop(),
      );
      aliceToken = await setup.make("alice's token", () => server.createUser("alice"));
      bobToken = await setup.make("bob's token", () => server.createUser("bob"));
      buildMarker = `dashboard-build-${server.orchestratorId}`;
      sourceDir = await setup.make(
        "the source folder",
        () => mkdtemp(path.join(tmpdir(), "orch-dashboard-")),
        (made) => rm(made, { recursive: true, force: true }),
      );
      for (const file of webApp("hello from the dashboard\n", `RUN echo ${buildMarker}\n`)) {
        await writeFile(path.join(sourceDir, file.name), file.content);
      }
      browser = await setup.make("chromium", launchChromium, (made) => made.close());
      alice = await setup.make("alice's browser context", () =>
        openContext(browser, { width: 1280, height: 900 }),
      );
      page = await setup.make("alice's page", () => alice.newPage());
    });
    afterAll(() => setup.removeAll());

    const card = (): Locator => page.locator('article[data-image="web"]');
    const rows = (): Locator => card().locator("tbody tr");
    const aliceApi = (method: string, route: string, body?: unknown) =>
      server.request(method, route, { token: aliceToken, body });

    async function logIn(target: Page, token: string) {
      await target.goto(server.url);
      await target.getByLabel("API token").fill(token);
      await target.getByRole("button", { name: "Log in" }).click();
      await target.getByRole("heading", { name: "Images" }).waitFor(deadline);
    }

    it("logs in with a token kept in an HttpOnly, SameSite=Strict cookie", async () => {
      await logIn(page, aliceToken);
      const cookies = await alice.cookies();
      const session = cookies.find((cookie) => cookie.name === "orchestrator_session");
      expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
      expect(await page.evaluate(() => (globalThis as any).document.cookie)).toBe("");
      await page.getByText("Live", { exact: true }).waitFor(deadline);
    });

    it("uploads a folder, streams its build log, and shows the instance it starts", async () => {
      await page.getByLabel("Name", { exact: true }).nth(1).fill("web");
      await page.locator("#src-folder").setInputFiles(sourceDir);
      await page
        .getByTestId("source-picked")
        .getByText(/Ready: source\.tar/)
        .waitFor(deadline);
      await page.getByRole("button", { name: "Upload and build" }).click();

      await card().waitFor(deadline);
      // The log streams while the build runs; a build that ends before we look is still shown.
      const build = card().locator("details.build");
      await build.waitFor(deadline);
      if (!(await build.evaluate((details) => (details as any).open))) {
        await build.getByText("Build log", { exact: true }).click();
      }
      await card().getByTestId("build-log").getByText(buildMarker).first().waitFor(deadline);
      await card()
        .getByTestId("image-status")
        .getByText("ready", { exact: true })
        .waitFor(deadline);
      const images = (await aliceApi("GET", "/api/images")).body.items;
      expect(images.map((image: any) => image.name)).toEqual(["web"]);
      imageId = images[0].id;

      await rows()
        .first()
        .getByTestId("state")
        .getByText("running", { exact: true })
        .waitFor(deadline);
      expect(await rows().count()).toBe(1);
      const port = rows().first().getByRole("link");
      const instance = (await aliceApi("GET", `/api/images/${imageId}/containers`)).body.items[0];
      expect(await port.textContent()).toBe(String(instance.host_port));
      expect(await port.getAttribute("href")).toBe(`http://127.0.0.1:${instance.host_port}/`);
    });

    it("scales 1 → 3 from the card, showing min and max", async () => {
      const scale = card().getByLabel("Instances (min 1, max 3)");
      await scale.fill("3");
      await card().getByRole("button", { name: "Scale" }).click();
      await waitFor(
        () => rows().getByTestId("state").allTextContents(),
        (states) => states.length === 3 && states.every((state) => state === "running"),
        { timeoutMs: 90_000, what: "three running rows" },
      );
      expect((await aliceApi("GET", `/api/images/${imageId}`)).body.desired_instances).toBe(3);
    });

    it("shows the restart of an instance killed behind the server's back, and its events", async () => {
      const [victim] = (await aliceApi("GET", `/api/images/${imageId}/containers`)).body.items;
      await docker.getContainer(victim.container_id).kill();
      const row = page.locator(`tr[data-instance="${victim.id}"]`);
      await row.getByTestId("restarts").getByText("1", { exact: true }).waitFor(deadline);
      await row.getByTestId("state").getByText("running", { exact: true }).waitFor(deadline);

      const events = page.getByTestId("events");
      for (const type of ["image.ready", "image.scaled", "container.started", "container.failed"]) {
        await events.getByText(type, { exact: true }).first().waitFor(deadline);
      }
      // The sparklines fill from the health samples the stream carries.
      await row.getByRole("img", { name: /^CPU: [\d.]+ %$/ }).waitFor(deadline);
      await row.getByRole("img", { name: /^Memory: [\d.]+ %$/ }).waitFor(deadline);
    });

    it("looks right and passes axe-core at 1280 and 390 px", async () => {
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: width === 1280 ? 900 : 844 });
        await screenshot(page, `dashboard-${width}`);
        const serious = await seriousViolations(page);
        expect(serious, `at ${width} px`).toEqual([]);
        const overflow = await page.evaluate(() => {
          const root = (globalThis as any).document.documentElement;
          return root.scrollWidth - root.clientWidth;
        });
        expect(overflow, `horizontal overflow at ${width} px`).toBeLessThanOrEqual(0);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    it("never shows one user's images to another user's session", async () => {
      const bob = await openContext(browser, { width: 390, height: 844 });
      try {
        const bobPage = await bob.newPage();
        await logIn(bobPage, bobToken);
        await bobPage.getByText("No images yet.").waitFor(deadline);
        expect(await bobPage.locator("article[data-image]").count()).toBe(0);
        const peek = await bobPage.evaluate(async (id) => {
          const list = await fetch("/api/images").then(
            (response) => response.json() as Promise<any>,
          );
          const one = await fetch(`/api/images/${id}`);
          const instances = await fetch("/api/containers").then(
            (response) => response.json() as Promise<any>,
          );
          return {
            names: list.items.map((image: any) => image.name),
            one: one.status,
            instances: instances.items.length,
          };
        }, imageId);
        expect(peek).toEqual({ names: [], one: 404, instances: 0 });
        await screenshot(bobPage, "second-user-390");
        const errors = await seriousViolations(bobPage);
        expect(errors).toEqual([]);
      } finally {
        await bob.close();
      }
    });

    it("shows the admin every user, their tokens and quotas, and every image", async () => {
      const admin = await openContext(browser, { width: 1280, height: 900 });
      try {
        const adminPage = await admin.newPage();
        await logIn(adminPage, server.adminToken);
        const users = adminPage.getByRole("table", { name: /Users and quotas/ });
        for (const name of ["alice", "bob"]) {
          await users.getByRole("rowheader", { name, exact: true }).waitFor(deadline);
        }
        const tokens = adminPage.getByRole("table", { name: "Tokens" });
        await tokens.getByRole("cell", { name: "alice", exact: true }).first().waitFor(deadline);
        await adminPage.locator('article[data-image="web"]').waitFor(deadline);
        await screenshot(adminPage, "admin-1280");
        const serious = await seriousViolations(adminPage);
        expect(serious).toEqual([]);
      } finally {
        await admin.close();
      }
    });

    it("rolls back to the previous revision, and pauses and resumes the rollout, from the card", async () => {
      const revisions = async () =>
        (await aliceApi("GET", `/api/images/${imageId}/revisions`)).body.items as any[];
      const changed = await aliceApi("PATCH", `/api/images/${imageId}`, {
        env: { GREETING: "two" },
      });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      const [second] = await revisions();
      expect(second).toMatchObject({ cause: "image.update" });

      await card().getByRole("button", { name: "Roll back" }).click();
      const [rolled] = await waitFor(
        revisions,
        (rows) => rows[0]?.revision === second.revision + 1,
        {
          timeoutMs: 60_000,
          what: "the rollback's revision",
        },
      );
      expect(rolled.cause).toBe(`rollback to revision ${second.revision - 1}`);
      expect(rolled.spec.env).toEqual({});
      await page.getByText(/Roll back web: done/).waitFor(deadline);

      await card().getByRole("button", { name: "Pause rollout" }).click();
      await card().getByRole("button", { name: "Resume rollout" }).waitFor(deadline);
      expect((await aliceApi("GET", `/api/images/${imageId}`)).body.rollout_paused).toBe(true);
      await card().getByRole("button", { name: "Resume rollout" }).click();
      await card().getByRole("button", { name: "Pause rollout" }).waitFor(deadline);
      expect((await aliceApi("GET", `/api/images/${imageId}`)).body.rollout_paused).toBe(false);
    });

    it("refuses a write without the CSRF token, even from the logged-in browser", async () => {
      const statuses = await page.evaluate(async (id) => {
        const patch = (headers: Record<string, string>) =>
          fetch(`/api/images/${id}`, {
            method: "PATCH",
            headers: { "content-type": "application/json", ...headers },
            body: JSON.stringify({ desired_instances: 1 }),
          }).then((response) => response.status);
        return [await patch({}), await patch({ "x-csrf-token": "forged-forged-forged" })];
      }, imageId);
      expect(statuses).toEqual([403, 403]);
      expect((await aliceApi("GET", `/api/images/${imageId}`)).body.desired_instances).toBe(3);
    });

    it("deletes the image after a confirmation", async () => {
      await card().getByRole("button", { name: "Delete…" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.getByRole("button", { name: "Cancel" }).click();
      expect((await aliceApi("GET", `/api/images/${imageId}`)).status).toBe(200);

      await card().getByRole("button", { name: "Delete…" }).click();
      await dialog.getByRole("button", { name: "Delete web" }).click();
      await card().waitFor({ state: "detached", ...deadline });
      await page
        .getByTestId("events")
        .getByText("image.deleted", { exact: true })
        .first()
        .waitFor(deadline);
      expect((await aliceApi("GET", `/api/images/${imageId}`)).status).toBe(404);
    });
  },
);
