import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's chromium (`.ci/run` installs it); browser downloads do not work here. */
export const chromiumPath = "/usr/bin/chromium";

export const hasChromium = () => existsSync(chromiumPath);

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/** Screenshots are kept for people to look at (ignored by git; CI may upload the folder). */
export const artifactsDir = path.resolve(import.meta.dirname, "../../test-artifacts/dashboard");

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

export type AxeViolation = { id: string; impact: string | null; help: string; nodes: unknown[] };

/**
 * axe-core's WCAG 2.x A/AA checks on the page as it is, run inside the page (through the
 * DevTools protocol, so the page's CSP, which allows no foreign script, stays on).
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    return axe.run((globalThis as any).document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
  });
  return result.violations.map((violation: any) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node: any) => node.target),
  }));
}

/** The violations that fail a test: serious or critical ones. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  return (await axeViolations(page)).filter(
    (violation) => violation.impact === "serious" || violation.impact === "critical",
  );
}
