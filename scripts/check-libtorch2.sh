#!/usr/bin/env bash
# Compiles the addon's sources against libtorch 2.x headers (Debian trixie's libtorch-dev,
# fetched with apt into a scratch folder, nothing installed) to check they build on 2.x as well
# as on the 1.13 the machine links. Syntax and types only: the 2.x libraries need a newer glibc.
#   npm run check:libtorch2
set -euo pipefail
cd "$(dirname "$0")/.."
work="${KILN_LIBTORCH2_DIR:-/tmp/kiln-libtorch2}"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/sources" "$work/debs"
cat >"$work/sources/trixie.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_opts=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$work/sources"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
if [ ! -d "$work/root/usr/include/torch" ]; then
  apt-get "${apt_opts[@]}" update -qq
  (cd "$work/debs" && apt-get "${apt_opts[@]}" download -qq libtorch-dev 2>/dev/null)
  dpkg-deb -x "$work"/debs/libtorch-dev_*.deb "$work/root"
fi
inc="$work/root/usr/include"
version=$(grep -E 'define TORCH_VERSION_(MAJOR|MINOR) ' "$inc/torch/csrc/api/include/torch/version.h" | awk '{print $3}' | paste -sd.)
napi=$(node -p "require('node-addon-api').include_dir")
status=0
for source in native/src/*.cc; do
  if g++ -std=c++17 -fsyntax-only -DNAPI_EXPERIMENTAL -I"$inc" -I"$inc/torch/csrc/api/include" \
    -I/usr/include/node -I"$napi" "$source"; then
    echo "ok   $source against libtorch $version headers"
  else
    echo "FAIL $source against libtorch $version headers"; status=1
  fi
done
exit $status
