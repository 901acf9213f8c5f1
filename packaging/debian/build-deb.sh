#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# build-deb.sh: build milter-manager_VERSION_ARCH.deb with dpkg-deb from a staged
# "make install DESTDIR=..." of a Debian-configured build, plus packaging/'s service files.
# Usage: build-deb.sh SOURCE_DIR WORK_DIR  (prints the path of the .deb on its last line)
set -euo pipefail

src=$(cd "$1" && pwd)
work=$(mkdir -p "$2" && cd "$2" && pwd)
build="$work/build"
stage="$work/stage"
rm -rf "$build" "$stage"
mkdir -p "$build" "$stage"

if [ ! -x "$src/configure" ]; then
  (cd "$src" && ./autogen.sh) >"$work/autogen.log" 2>&1
fi
(
  cd "$build"
  "$src/configure" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
    --with-package-platform=debian \
    --with-default-effective-user=milter-manager \
    --with-default-effective-group=milter-manager \
    --with-default-socket-group=mail \
    --with-default-connection-spec=unix:/run/milter-manager/milter-manager.sock \
    --with-default-pid-file=/run/milter-manager/milter-manager.pid
  make -j"$(nproc)"
  make install DESTDIR="$stage"
) >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }

pkg="$src/packaging"
install -D -m 0644 "$pkg/systemd/milter-manager.service" \
  "$stage/lib/systemd/system/milter-manager.service"
install -D -m 0644 "$pkg/debian/milter-manager.default" "$stage/etc/default/milter-manager"
install -D -m 0644 "$pkg/tmpfiles.d/milter-manager.conf" \
  "$stage/usr/lib/tmpfiles.d/milter-manager.conf"
# Libraries and headers serve other programs; this package carries the daemon.
rm -rf "$stage/usr/include" "$stage/usr/lib/pkgconfig"
find "$stage" -name '*.la' -delete
find "$stage" -type f \( -perm -u+x -o -name '*.so*' \) -exec sh -c \
  'file "$1" | grep -q ELF && strip --strip-unneeded "$1"' _ {} \; 2>/dev/null || true

mkdir -p "$stage/DEBIAN"
install -m 0755 "$pkg/debian/postinst" "$pkg/debian/prerm" "$pkg/debian/postrm" "$stage/DEBIAN/"
(cd "$stage" && find etc -type f | sed 's#^#/#' | sort) > "$stage/DEBIAN/conffiles"
# libmilter-manager.so.0 lands in /usr/lib: let dpkg run ldconfig.
echo "activate-noawait ldconfig" > "$stage/DEBIAN/triggers"

# Depends: the package of every shared library the programs use, at its installed version.
depends=$(
  find "$stage" -type f -perm -u+x -exec sh -c 'file "$1" | grep -q ELF && echo "$1"' _ {} \; |
    xargs -r ldd 2>/dev/null | awk '/=> \// {print $3}' | sort -u |
    while read -r lib; do
      case "$lib" in "$stage"/*) continue;; esac
      dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true
    done | cut -d: -f1 | sort -u | grep -vx "milter-manager" |
    while read -r package; do
      printf '%s (>= %s)\n' "$package" "$(dpkg-query -W -f='${Version}' "$package")"
    done | paste -sd, | sed 's/,/, /g')
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
arch=$(dpkg --print-architecture)
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" "$pkg/debian/control.in" > "$stage/DEBIAN/control"

deb="$work/milter-manager_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
