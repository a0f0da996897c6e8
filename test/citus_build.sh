#!/usr/bin/env bash
# Builds and installs Citus for the Citus tests, from ../shared/vendor (Citus is not in
# Debian 12). Prints one line and exits 3 when the source is absent. The build is cached
# (outside the clone, so a fresh clone reuses it) and installed only when the server lacks
# this version; a second run costs a second.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
version=13.2.2
vendor=${TC_VENDOR:-$repo/../shared/vendor}
source_archive=$vendor/citus-$version.tar.gz
patch_file=$vendor/citus-$version-pg15.20.patch
pg_config=${PG_CONFIG:-pg_config}
cache=${TC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/test_cleanup}/citus-$version-pg$("$pg_config" --version | awk '{print $2}')

if [ ! -f "$source_archive" ]; then
  echo "skipped: no Citus source ($source_archive)"
  exit 3
fi

installed() {
  [ -f "$("$pg_config" --pkglibdir)/citus.so" ] &&
    grep -q "^default_version = '${version%.*}-" "$("$pg_config" --sharedir)/extension/citus.control" 2>/dev/null &&
    [ -f "$cache/.installed" ]
}
installed && exit 0

bash "$repo/test/install_deps.sh"
bash "$repo/test/install_deps.sh" patch libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev \
  libselinux1-dev libpam0g-dev

if [ ! -f "$cache/.built" ]; then
  echo "citus_build: building Citus $version (about two minutes)"
  rm -rf "$cache"
  mkdir -p "$cache"
  tar -xzf "$source_archive" -C "$cache" --strip-components=1
  (cd "$cache" && patch -s -p1 <"$patch_file" &&
    ./configure -q PG_CONFIG="$pg_config" >configure.log 2>&1 &&
    make -s -j"$(nproc)" >make.log 2>&1) || {
    tail -n 30 "$cache"/*.log >&2
    exit 1
  }
  touch "$cache/.built"
fi
make -s -C "$cache" install >/dev/null
touch "$cache/.installed"
