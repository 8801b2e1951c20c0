#!/usr/bin/env bash
# Renders `latina report` in a real headless browser and saves a screenshot,
# to check by eye that the charts draw (not part of CI: it needs chromium).
#
#   apt-get install -y chromium        # Debian's package, once
#   scripts/report_screenshot.sh [OUT.png]   # default /tmp/report.png
#
# It builds a sample database through the real commands in a temp dir:
# `latina enhance` with the built-in offline engines on the fixture photos,
# `latina suggest`, and `latina rate` with varied stars and comments
# (one of them HTML, to see it shown as text), then writes the report and
# screenshots it at 1280x3000. Set LATINA=path/to/latina to skip the build.
set -euo pipefail

out_png=${1:-/tmp/report.png}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z "${LATINA:-}" ]]; then
    cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
    LATINA="${CARGO_TARGET_DIR:-$root/target}/release/latina"
fi
command -v chromium >/dev/null || { echo "chromium not found: apt-get install -y chromium" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
latina() { "$LATINA" --data-dir "$work/data" --seed 7 -q "$@"; }

photos=(room_hotel_desk.jpg room_hotel_bed.jpg studio_dark_pano.jpg coffee.jpg
        courtyard_pano.jpg room_hotel_pano.jpg)
for round in 1 2; do
    for photo in "${photos[@]}"; do
        latina --json enhance --no-rate "$root/tests/fixtures/images/$photo" >/dev/null
    done
done
latina --json suggest --count 3 >/dev/null

comments=("muy plano" "falta luz, iluminación pobre" "colores desaturados"
          "<script>alert(1)</script>" "great texture" "sombras duras")
i=0
for id in $(latina --json rate | python3 -c 'import json,sys; [print(e["experiment_id"]) for e in json.load(sys.stdin)]'); do
    i=$((i + 1))
    stars=$(( (i * 7 + i / 4) % 5 + 1 ))
    latina rate "$id" "$stars" --comment "${comments[i % ${#comments[@]}]}" --by ana >/dev/null || true
done
# One render file gone: the report shows a placeholder for it.
find "$work/data/renders" -name '*.jpg' | head -1 | xargs rm -f

latina report --out "$work/report.html"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/chromium" --window-size=1280,3000 \
    --screenshot="$out_png" "file://$work/report.html" 2>/dev/null
echo "$out_png ($(stat -c %s "$work/report.html") bytes of HTML, $i ratings)"
