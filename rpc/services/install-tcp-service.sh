#!/bin/sh
# meson install helper: LINK TARGET -> ${DESTDIR}LINK pointing at TARGET (a /dev/tcp path that
# exists only as qrexec's notation, so meson's own install_symlink would refuse it).
set -eu
link="${DESTDIR:-}$1"
mkdir -p "$(dirname "$link")"
ln -sfn "$2" "$link"
echo "Installing symlink $link -> $2"
