#!/usr/bin/env bash
# Installs the Debian 12 packages that the build, the tests and the demo need. Does nothing
# when they are all present already, so a second run costs a second. With arguments, it
# installs those packages instead (what the Citus and PostgreSQL 18 builds need besides).
set -euo pipefail

if [ $# -gt 0 ]; then
  packages=("$@")
else
  packages=(
    make g++ pkg-config
    postgresql-15 postgresql-server-dev-15 libpq-dev postgresql-15-cron
    libcpp-httplib-dev nlohmann-json3-dev
    python3 python3-requests python3-psycopg2 python3-pytest curl wrk
    clang libclang-rt-14-dev clang-format valgrind
  )
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install_deps: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
