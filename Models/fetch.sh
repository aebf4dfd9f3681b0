#!/bin/sh
# Download one official Segment Anything checkpoint and check it.
#
#   Models/fetch.sh vit_b|vit_l|vit_h|vit_t [DEST_DIR]      (default DEST_DIR: the directory of this script)
#
# Needs internet access and curl or wget. The SAM URLs are the ones in the README of
# https://github.com/facebookresearch/segment-anything; vit_t is MobileSAM's `mobile_sam.pt`
# from https://github.com/ChaoningZhang/MobileSAM (weights/ in that repository).
#
# Checks:
#   sha256  compared with the value recorded below; a mismatch is an error (the file is kept,
#           renamed to *.bad, so nothing is lost). The values were not computed on the (offline)
#           build machine: each is the one that many independent public projects pin for the same
#           URL (see Models/README.md).
#   md5     the 6 hex digits in each file name are widely reported to be the start of the file's
#           MD5. This is compared as a warning only (it is not an official, verified checksum).
set -eu

variant="${1:-}"
dest="${2:-$(cd "$(dirname "$0")" && pwd)}"

url=""
case "$variant" in
  vit_b) file=sam_vit_b_01ec64.pth; sha256=ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912 ;;  # ~375 MB
  vit_l) file=sam_vit_l_0b3195.pth; sha256=3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622 ;;  # ~1.25 GB
  vit_h) file=sam_vit_h_4b8939.pth; sha256=a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e ;;  # ~2.56 GB
  vit_t) file=mobile_sam.pt; sha256=6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f  # 40,728,226 bytes
         url="https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt" ;;
  *) echo "usage: $0 vit_b|vit_l|vit_h|vit_t [DEST_DIR]" >&2; exit 2 ;;
esac
[ -n "$url" ] || url="https://dl.fbaipublicfiles.com/segment_anything/$file"
out="$dest/$file"
mkdir -p "$dest"

if [ -f "$out" ]; then
  echo "$out exists; checking it"
else
  echo "downloading $url"
  tmp="$out.part"
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 3 -o "$tmp" "$url"
  elif command -v wget >/dev/null 2>&1; then
    wget -O "$tmp" "$url"
  else
    echo "error: need curl or wget" >&2; exit 1
  fi
  mv "$tmp" "$out"
fi

sha_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}
md5_of() {
  if command -v md5sum >/dev/null 2>&1; then md5sum "$1" | cut -d' ' -f1
  elif command -v md5 >/dev/null 2>&1; then md5 -q "$1"
  else echo ""; fi
}

actual=$(sha_of "$out")
if [ -n "$sha256" ]; then
  if [ "$actual" != "$sha256" ]; then
    mv "$out" "$out.bad"
    echo "error: sha256 mismatch for $file: got $actual, expected $sha256 (kept as $out.bad)" >&2; exit 1
  fi
  echo "sha256 OK: $actual"
else
  echo "sha256 $actual  $file   (no recorded value: verify on download, then record it in Models/fetch.sh and Models/README.md)"
fi

suffix=$(echo "$file" | sed -E 's/.*_([0-9a-f]{6})\.pth$/\1/')
md5=$(md5_of "$out")
if [ "$variant" != vit_t ] && [ -n "$md5" ]; then   # mobile_sam.pt carries no hash tag
  case "$md5" in
    "$suffix"*) echo "md5 prefix matches the file name ($suffix)" ;;
    *) echo "warning: md5 $md5 does not start with $suffix (the file-name tag); the download may be damaged" >&2 ;;
  esac
fi
echo "$out"
