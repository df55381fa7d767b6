import { describe, expect, it } from "vitest";
import { hiddenRootfsMounts } from "../support/service-control.ts";

/**
 * /proc/self/mountinfo as a CI run left it after the engine-restart suite (session 37): the
 * engine's bind mount of its root (45), a container rootfs it mounted itself under it (57), and
 * one mounted by a start it took while shutting down, on the root filesystem (56), which the
 * next engine's bind mount hid: the engine could not remove that container.
 */
const mountinfo = [
  "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
  "24 27 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw",
  "56 27 0:44 / /var/lib/docker/overlay2/1e72a657/merged rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/6IRD",
  "45 27 254:0 /var/lib/docker /var/lib/docker rw,relatime shared:1 - ext4 /dev/vda rw",
  "57 45 0:45 / /var/lib/docker/overlay2/9c0ffee0/merged rw,relatime shared:2 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/AB12",
  "58 45 0:46 / /var/lib/docker/containers/9c0ffee0/mounts/shm rw - tmpfs shm rw",
  "",
].join("\n");

describe("rootfs mounts the engine cannot see", () => {
  it("are the overlay mounts under its root that hang from another mount than its root's bind", () => {
    expect(hiddenRootfsMounts(mountinfo, "/var/lib/docker")).toEqual([
      "/var/lib/docker/overlay2/1e72a657/merged",
    ]);
  });

  it("are none when its root is no mount of its own, or no mount is hidden", () => {
    const withoutBind = mountinfo
      .split("\n")
      .filter((line) => !line.startsWith("45 "))
      .join("\n");
    expect(hiddenRootfsMounts(withoutBind, "/var/lib/docker")).toEqual([]);
    const healthy = mountinfo
      .split("\n")
      .filter((line) => !line.startsWith("56 "))
      .join("\n");
    expect(hiddenRootfsMounts(healthy, "/var/lib/docker")).toEqual([]);
  });

  it("reads mount points written with octal escapes", () => {
    const spaced =
      "27 1 254:0 / / rw - ext4 /dev/vda rw\n45 27 254:0 /d /srv/docker\\040root rw - ext4 /dev/vda rw\n60 27 0:50 / /srv/docker\\040root/overlay2/ab/merged rw - overlay overlay rw\n";
    expect(hiddenRootfsMounts(spaced, "/srv/docker root")).toEqual([
      "/srv/docker root/overlay2/ab/merged",
    ]);
  });
});
