# Sourced by the quality scripts: stage LOG_DIR NAME COMMAND... runs the command with its output in
# LOG_DIR/NAME.log and its wall time appended to LOG_DIR/times.tsv; a failure shows the log's tail
# and stops the script.
stage() {
  local dir="$1" name="$2"
  shift 2
  echo "== $(date -u +%FT%TZ) $name (log: $dir/$name.log)"
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$@" >"$dir/$name.log" 2>&1; then
    echo "$(basename "$0"): $name failed, see $dir/$name.log" >&2
    tail -20 "$dir/$name.log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  printf '%s\t%s\t%.1f\n' "$(date -u +%FT%TZ)" "$name" "$(echo "$t1 - $t0" | bc)" >>"$dir/times.tsv"
}
