#!/usr/bin/env bash
# Makes a Node base image from what this machine already has, for engines that cannot pull
# `node:24-slim` (CI here has no registry). Anywhere a registry is reachable, build with the
# Dockerfile's default base instead; this image only stands in for it.
#
#   deploy/local-base.sh [TAG]        # default TAG: orchestrator-node-base:24
#   docker build --build-arg BASE=orchestrator-node-base:24 -t orchestrator .
#
# The root filesystem holds: the host's Node binary and the shared libraries it links (ldd),
# the host's npm, busybox-static for /bin/sh and the usual applets (RUN steps need a shell),
# CA certificates, and a `node` user and group with ids 1000 like the official image.
# It is rebuilt only when the Node binary, npm or busybox changed: the image carries a label
# with their fingerprint, so a second run is a no-op and the Dockerfile's layers stay cached.
set -euo pipefail

tag="${1:-orchestrator-node-base:24}"
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
busybox=""
for candidate in /bin/busybox /usr/bin/busybox; do
  if [ -x "$candidate" ] && ! ldd "$candidate" >/dev/null 2>&1; then busybox="$candidate"; break; fi
done
[ -n "$busybox" ] || { echo "local-base: needs a static busybox (apt-get install busybox-static)" >&2; exit 1; }
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "local-base: no npm found next to $(command -v npm)" >&2; exit 1; }

fingerprint="$(
  {
    "$node_bin" --version
    node -p 'require(process.argv[1]).version' "$npm_dir/package.json"
    sha256sum "$node_bin" "$busybox" "$0"
  } | sha256sum | cut -c1-16
)"
if [ "$(docker image inspect --format '{{ index .Config.Labels "orchestrator.base.fingerprint" }}' "$tag" 2>/dev/null)" = "$fingerprint" ]; then
  echo "local-base: $tag is up to date ($fingerprint)"
  exit 0
fi

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,root,home/node,usr/local/bin,usr/local/lib/node_modules,etc/ssl/certs}
chmod 1777 "$rootfs/tmp"

cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
mkdir -p "$rootfs/usr/bin"
ln -s /bin/busybox "$rootfs/usr/bin/env" # scripts' `#!/usr/bin/env node`

cp "$node_bin" "$rootfs/usr/local/bin/node"
# Every library Node links, at the same path, plus the dynamic loader.
for library in $(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
  mkdir -p "$rootfs$(dirname "$library")"
  cp -L "$library" "$rootfs$library"
done
# /lib64 and /lib may be symlinks into /usr on the host (merged /usr): keep the same shape.
for link in /lib /lib64; do
  if [ -L "$link" ] && [ -d "$rootfs$link" ]; then
    target="$(readlink "$link")"
    mkdir -p "$rootfs/$target"
    cp -a "$rootfs$link/." "$rootfs/$target/"
    rm -rf "${rootfs:?}$link"
    ln -s "$target" "$rootfs$link"
  fi
done

cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"

printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
chown 1000:1000 "$rootfs/home/node"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change "LABEL orchestrator.base.fingerprint=$fingerprint" \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "local-base: built $tag ($fingerprint) from node $("$node_bin" --version) and $busybox"
