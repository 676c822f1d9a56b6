#!/bin/sh
# Puts the four Fashion-MNIST IDX gzip files into the folder $1 (default
# data/fashion-mnist).  They come from the Debian package dataset-fashion-mnist:
# from /usr/share/datasets/fashion-mnist when it is installed, otherwise the
# package is fetched with `apt-get download` and unpacked with `dpkg -x` into a
# temporary folder, which needs no system-wide install.
set -eu
dest=${1:-data/fashion-mnist}
files="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"
sys=/usr/share/datasets/fashion-mnist

have_all() {
    for f in $files; do [ -s "$1/$f" ] || return 1; done
}

mkdir -p "$dest"
if have_all "$dest"; then
    exit 0
fi
if have_all "$sys"; then
    src=$sys
    tmp=
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "fetching Fashion-MNIST (Debian package dataset-fashion-mnist) ..."
    # apt-get download writes into the current folder; the _apt user must be
    # able to write there, so make it world-writable for the download.
    chmod 777 "$tmp"
    if ! (cd "$tmp" && apt-get download dataset-fashion-mnist >/dev/null 2>&1); then
        SUDO=
        [ "$(id -u)" -ne 0 ] && SUDO=sudo
        $SUDO apt-get update >/dev/null
        (cd "$tmp" && apt-get download dataset-fashion-mnist >/dev/null)
    fi
    dpkg -x "$tmp"/dataset-fashion-mnist_*.deb "$tmp/x"
    src=$tmp/x$sys
fi
for f in $files; do
    cp "$src/$f" "$dest/$f.part"
    mv "$dest/$f.part" "$dest/$f"
done
echo "Fashion-MNIST is in $dest"
