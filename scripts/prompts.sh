#!/usr/bin/env bash
# Generates the Indonesian prompts into Asterisk's sound format.
# Rules: a recorded file in prompts/recorded/NAME.wav always wins over synthesis;
# output is WAV 8 kHz mono 16-bit in $IVR_CACHE_DIR/prompts/ivr112; a prompt that
# cannot be produced stops the script with its name.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out="${1:-$IVR_CACHE_DIR/prompts}/ivr112"
mkdir -p "$out"
command -v sox >/dev/null || die "sox is not installed (apt-get install sox)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
while IFS=$'\t' read -r name text; do
  [ -n "$name" ] || continue
  case "$name" in \#*) continue ;; esac
  recorded="$REPO_DIR/prompts/recorded/$name.wav"
  if [ -f "$recorded" ]; then
    src="$recorded"
  else
    command -v espeak-ng >/dev/null || die "espeak-ng is not installed (apt-get install espeak-ng)"
    src="$tmp/$name.wav"
    espeak-ng -v id -s 170 -w "$src" "$text" || die "espeak-ng could not speak prompt '$name'"
  fi
  # Telephone band, normalised to -3 dBFS, 8 kHz mono 16-bit.
  sox "$src" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/$name.out.wav" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse highpass 300 lowpass 3400 norm -3 pad 0.1 0.2 \
    || die "sox could not convert prompt '$name' from $src"
  mv "$tmp/$name.out.wav" "$out/$name.wav"
done <"$REPO_DIR/prompts/id.tsv"
log "prompts ready in $out"
