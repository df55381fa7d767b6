import { describe, expect, it } from "vitest";
import { createContainerNews } from "./container-news.ts";

describe("container news", () => {
  it("hands each image's changed containers to one pass, then forgets them", () => {
    const news = createContainerNews();
    news.heard(1, "a", "die");
    news.heard(1, "b", "start");
    news.heard(2, "c", "die");
    news.heard(1, "", "die");
    expect([...news.takeChanged(1)].sort()).toEqual(["a", "b"]);
    expect([...news.takeChanged(1)]).toEqual([]);
    expect([...news.takeChanged(2)]).toEqual(["c"]);
  });

  it("remembers a kill through the engine for ten seconds", () => {
    let clock = 1_000;
    const news = createContainerNews(() => clock);
    news.heard(1, "a", "die");
    expect(news.wasKilled("a")).toBe(false);
    news.heard(1, "a", "kill");
    expect(news.wasKilled("a")).toBe(true);
    clock += 10_000;
    expect(news.wasKilled("a")).toBe(true);
    clock += 1;
    expect(news.wasKilled("a")).toBe(false);
  });
});
