#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, `swiftc -sanitize=fuzzer,address`) of every decoder that takes
# outside bytes: the client request codec, the node message codec, the bar feed's decoder, the formula
# language, the CSV reader.
#
#   scripts/fuzz.sh build [TARGET...]          build targets into .build/fuzz (default: all)
#   scripts/fuzz.sh run TARGET [LIBFUZZER_ARG...]
#                                              fuzz one target from its committed seeds in Fuzz/Corpus/TARGET
#                                              (new inputs go to .build/fuzz/corpus/TARGET; a crash is written
#                                              to .build/fuzz/crash-TARGET-*), e.g. -runs=10000000 or -max_total_time=60
#   scripts/fuzz.sh ci [SECONDS]               build every target and fuzz each for SECONDS (default 20)
#   scripts/fuzz.sh seeds                      regenerate Fuzz/Corpus/node_codec (binary frames of every kind)
#
# Targets: request_codec node_codec feed_codec formula csv. Only the source files a target needs are compiled
# (with swiftc, module by module), not the whole package: a clean build of all five takes about two
# minutes on two cores. Fuzz/Targets/*.swift hold the harnesses and say what each one checks.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# FUZZ_SANITIZE=fuzzer (no AddressSanitizer) runs 2–3× more inputs a second: the long runs use it (Swift
# code is bounds-checked either way; ASan adds checks of the unsafe-pointer code and of libc calls).
sanitize=${FUZZ_SANITIZE:-fuzzer,address}
out=.build/fuzz
[ "$sanitize" = "fuzzer,address" ] || out=.build/fuzz-${sanitize//,/-}
targets=(request_codec node_codec feed_codec formula csv)
flags=(-O -g -use-ld=lld "-sanitize=$sanitize" -parse-as-library -swift-version 6 -package-name MarketScan)

# module name → its sources (find, so renamed or added files need no edit here)
module_sources() {
  case "$1" in
    FormulaEngine) find Sources/FormulaEngine -name '*.swift' | sort ;;
    ScanCore) find Sources/ScanCore -name '*.swift' | sort ;;
    ScanProtocol) find Sources/ScanProtocol -name '*.swift' | sort ;;
    # The CSV reader and what it uses, derived (not listed): the importers' database side needs GRDB.
    MarketData) closure_sources Sources/MarketData CSVReader.swift ;;
    *) echo "fuzz: unknown module $1" >&2; exit 2 ;;
  esac
}

# Top-level names a Swift file declares (types, typealiases, functions, constants).
declared_names() {
  sed -nE 's/^(@[A-Za-z]+ )*((public|package|internal|fileprivate|private|final|indirect|nonisolated) )*(struct|enum|class|protocol|actor|typealias|func|let|var) +([A-Za-z_][A-Za-z0-9_]*).*/\5/p' "$1"
}

# The files of module directory DIR that file START needs: START, then every file declaring a name
# that a file already taken uses (comments ignored), until nothing is added. Fails, naming the file,
# when one of them imports a module the fuzz build does not compile (e.g. GRDB), so a new dependency
# of the reader is either found here or reported, never silently missing.
closure_sources() {
  local dir=$1 start=$2
  local taken=("$dir/$start") added=1 f n
  while [ $added -eq 1 ]; do
    added=0
    local words
    words=$(sed 's://.*$::' "${taken[@]}" | grep -oE '[A-Za-z_][A-Za-z0-9_]*' | sort -u)
    for f in "$dir"/*.swift; do
      [[ " ${taken[*]} " == *" $f "* ]] && continue
      for n in $(declared_names "$f"); do
        if grep -qxF "$n" <<<"$words"; then
          taken+=("$f")
          added=1
          break
        fi
      done
    done
  done
  for f in "${taken[@]}"; do
    local bad
    bad=$(sed -nE 's/^(@[A-Za-z]+ )*import +([A-Za-z_]+).*/\2/p' "$f" | grep -vxE 'Foundation|Glibc|Synchronization|FormulaEngine|ScanCore' || true)
    if [ -n "$bad" ]; then
      echo "fuzz: $f (needed by $start) imports $bad, which the fuzz build does not compile" >&2
      exit 2
    fi
  done
  printf "%s\n" "${taken[@]}" | sort
}

target_modules() {
  case "$1" in
    request_codec | node_codec | feed_codec) echo FormulaEngine ScanCore ScanProtocol ;;
    formula) echo FormulaEngine ;;
    csv) echo FormulaEngine ScanCore MarketData ;;
    *) echo "fuzz: unknown target '$1' (targets: ${targets[*]})" >&2; exit 2 ;;
  esac
}

target_file() {
  case "$1" in
    request_codec) echo Fuzz/Targets/RequestCodecFuzz.swift ;;
    node_codec) echo Fuzz/Targets/NodeCodecFuzz.swift ;;
    feed_codec) echo Fuzz/Targets/FeedCodecFuzz.swift ;;
    formula) echo Fuzz/Targets/FormulaFuzz.swift ;;
    csv) echo Fuzz/Targets/CSVFuzz.swift ;;
  esac
}

# Rebuilds a module when any of its sources (or a module it imports) is newer than its object.
build_module() {
  local m=$1; shift
  local obj=$out/modules/$m.o
  mkdir -p "$out/modules"
  local listed
  listed=$(module_sources "$m")  # an assignment, so that its failure stops the script (set -e)
  mapfile -t srcs <<<"$listed"
  local stale=0
  [ -f "$obj" ] || stale=1
  if [ $stale -eq 0 ]; then
    for f in "${srcs[@]}" "$@"; do [ "$f" -nt "$obj" ] && { stale=1; break; }; done
  fi
  [ $stale -eq 1 ] || return 0
  echo "fuzz: compiling $m (${#srcs[@]} files)" >&2
  swiftc "${flags[@]}" -wmo -c -module-name "$m" -I "$out/modules" \
    -emit-module -emit-module-path "$out/modules/$m.swiftmodule" "${srcs[@]}" -o "$obj"
}

build_target() {
  local t=$1 deps=() objs=()
  for m in $(target_modules "$t"); do
    build_module "$m" "${deps[@]/%/}"
    deps+=("$out/modules/$m.o")
    objs+=("$out/modules/$m.o")
  done
  local src
  src=$(target_file "$t")
  local bin=$out/$t
  local stale=0
  [ -f "$bin" ] || stale=1
  for f in "$src" "${objs[@]}"; do [ "$f" -nt "$bin" ] && stale=1; done
  [ $stale -eq 1 ] || return 0
  echo "fuzz: linking $t" >&2
  swiftc "${flags[@]}" -module-name "Fuzz_$t" -I "$out/modules" "$src" "${objs[@]}" -o "$bin"
}

# Longest input tried: enough for every decoder's structure, short enough to keep runs fast.
max_len() { case "$1" in csv) echo 1024 ;; formula) echo 4096 ;; *) echo 8192 ;; esac; }

run_target() {
  local t=$1; shift
  build_target "$t"
  mkdir -p "$out/corpus/$t"
  # First directory: where new inputs go; the committed seeds are read, never written.
  (cd "$out" && SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "./$t" -artifact_prefix="crash-$t-" -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" "corpus/$t" "$root/Fuzz/Corpus/$t" "$@")
}

cmd=${1:-}
shift || true
case "$cmd" in
  build)
    [ $# -gt 0 ] || set -- "${targets[@]}"
    for t in "$@"; do build_target "$t"; done
    ;;
  run)
    [ $# -ge 1 ] || { echo "usage: scripts/fuzz.sh run TARGET [LIBFUZZER_ARG...]" >&2; exit 2; }
    run_target "$@"
    ;;
  seeds)
    build_target node_codec
    FUZZ_WRITE_SEEDS="$root/Fuzz/Corpus/node_codec" SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$out/node_codec"
    ls -l Fuzz/Corpus/node_codec
    ;;
  ci)
    secs=${1:-20}
    for t in "${targets[@]}"; do build_target "$t"; done
    for t in "${targets[@]}"; do
      echo "fuzz: $t for ${secs}s" >&2
      log=$out/ci-$t.log
      if ! run_target "$t" -max_total_time="$secs" -print_final_stats=1 > "$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "fuzz: $t found a crash (the input is in $out/crash-$t-*)" >&2
        exit 1
      fi
      grep -E "DONE|stat::number_of_executed_units" "$log" >&2 || true
    done
    ;;
  *)
    sed -n '2,17p' "$0" >&2
    exit 2
    ;;
esac
