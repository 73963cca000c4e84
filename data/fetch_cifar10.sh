#!/usr/bin/env bash
# Downloads the official CIFAR-10 binary archive, checks its md5 and unpacks it, giving
# DEST/cifar-10-batches-bin (DEST defaults to this script's directory, i.e. data/).
set -euo pipefail
DEST="${1:-$(dirname "$0")}"
URL="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MD5="c32a1d4ab5d03f1284b67883e8d87530"
ARCHIVE="$DEST/cifar-10-binary.tar.gz"

mkdir -p "$DEST"
if [ -f "$DEST/cifar-10-batches-bin/test_batch.bin" ]; then
    echo "CIFAR-10 already in $DEST/cifar-10-batches-bin"
    exit 0
fi
if ! { [ -f "$ARCHIVE" ] && echo "$MD5  $ARCHIVE" | md5sum -c --status; }; then
    echo "downloading $URL"
    if command -v curl >/dev/null; then curl -fL --retry 3 -o "$ARCHIVE.part" "$URL"
    else wget -O "$ARCHIVE.part" "$URL"; fi
    mv "$ARCHIVE.part" "$ARCHIVE"
fi
if ! echo "$MD5  $ARCHIVE" | md5sum -c --status; then
    echo "error: $ARCHIVE has md5 $(md5sum "$ARCHIVE" | cut -d' ' -f1), expected $MD5" >&2
    echo "(a damaged or different download; delete it and run again)" >&2
    exit 1
fi
tar -xzf "$ARCHIVE" -C "$DEST"
echo "CIFAR-10 unpacked to $DEST/cifar-10-batches-bin"
