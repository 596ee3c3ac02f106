# Command-line behaviour: exit codes and one-line errors, against the real binary.
set(G ${LSMSIM_GOLDEN_DIR})
function(cli_test name)
  cmake_parse_arguments(C "WILL_FAIL" "EXPECT" "ARGS" ${ARGN})
  add_test(NAME cli_${name} COMMAND lsmsim ${C_ARGS})
  if(C_EXPECT)
    set_tests_properties(cli_${name} PROPERTIES PASS_REGULAR_EXPRESSION "${C_EXPECT}")
  endif()
  if(C_WILL_FAIL)
    set_tests_properties(cli_${name} PROPERTIES WILL_FAIL TRUE)
  endif()
endfunction()

# cli_exit2(CASES...): each "name|command line" must exit 2 with exactly one line on stderr.
function(cli_exit2)
  foreach(case ${ARGN})
    string(REPLACE "|" ";" parts "${case}")
    list(GET parts 0 name)
    list(GET parts 1 cmdline)
    separate_arguments(cmdline)
    add_test(NAME cli_exit2_${name} COMMAND sh -c "e=$(mktemp); \"$0\" \"$@\" 2>$e; rc=$?; cat $e; n=$(wc -l < $e); rm -f $e; [ $rc -eq 2 ] && [ $n -eq 1 ]" $<TARGET_FILE:lsmsim> ${cmdline})
  endforeach()
endfunction()

cli_test(help ARGS --help EXPECT "ckpt decode FILE")
cli_test(ckpt_decode_text ARGS ckpt decode ${G}/ckpt/006_flushy_meta2.bin EXPECT "merge: nskip 0, inputs 476:1 470:0 464:0 457:0")
cli_test(ckpt_decode_json ARGS ckpt decode ${G}/ckpt/052_compact_meta1.bin --json EXPECT "\"redirects\":\\[\\[8,7\\]\\]")
cli_test(ckpt_decode_db_page ARGS ckpt decode ${G}/db/pub_tiny_4k.db --page 1 --json EXPECT "\"valid\":true")
# Exit status 2 with a one-line error for bad input; 1 for a page that holds no valid checkpoint.
cli_exit2(
    "missing_file|ckpt decode /nonexistent/page.bin"
    "short_file|ckpt decode ${G}/db/README.md"
    "bad_page_flag|ckpt decode ${G}/db/pub_tiny_4k.db --page 3"
    "unknown_flag|ckpt decode ${G}/ckpt/006_flushy_meta2.bin --bogus"
    "bad_hex|metakey decode 0g"
    "short_key|metakey decode 00000001"
    "bad_age|metakey encode x 1"
    "bad_json|ckpt encode ${G}/db/README.md")
add_test(NAME cli_exit1_invalid_page COMMAND sh -c "\"$0\" ckpt decode \"$1\" --json; [ $? -eq 1 ]" $<TARGET_FILE:lsmsim> ${G}/ckpt/000_small_meta2.bin)
cli_test(metakey_encode ARGS metakey encode 1 2 ab EXPECT "^00000001fffffffdab")
cli_test(metakey_decode ARGS metakey decode 00000003fffffffe00ff --json EXPECT "\"age\":3,\"level\":1,\"separator\":\"00ff\"")
# decode --json then encode gives back the page's first nckpt*4 bytes, for every valid golden page.
add_test(NAME cli_ckpt_roundtrip COMMAND sh -c "set -e; d=$(mktemp -d); n=0
  for f in \"$1\"/*.bin; do
    \"$0\" ckpt decode \"$f\" --json > $d/j || continue
    \"$0\" ckpt encode $d/j > $d/p
    words=$(sed 's/.*\\\"nckpt\\\":\\([0-9]*\\).*/\\1/' $d/j)
    cmp -n $((words * 4)) $d/p \"$f\"; n=$((n + 1))
  done; rm -rf $d; echo roundtrip $n pages; [ $n -ge 9 ]" $<TARGET_FILE:lsmsim> ${G}/ckpt)
set_tests_properties(cli_ckpt_roundtrip PROPERTIES PASS_REGULAR_EXPRESSION "roundtrip 9 pages")
cli_test(ckpt_summary ARGS ckpt summary ${G}/ckpt/052_compact_meta1.bin ${G}/db/pub_tiny_4k.db
  EXPECT "recovery uses: page 1\n3 meta pages, 2 valid, 1 without a valid checkpoint")

# lsmsim db dump prints exactly the expected lines for every golden database, on a copy (recovery
# writes: the crash database's log is replayed, flushed and checkpointed at close).
file(GLOB GOLDEN_DBS ${G}/db/*.db)
foreach(db ${GOLDEN_DBS})
  get_filename_component(file ${db} NAME)
  string(REGEX REPLACE "\\..*" "" stem ${file})
  add_test(NAME cli_db_dump_${stem} COMMAND sh -c "set -e; d=$(mktemp -d); cp \"$1\"* $d/; chmod u+w $d/*
    \"$0\" db dump $d/$2 > $d/out.tsv; cmp $d/out.tsv \"$3\"
    \"$0\" db dump $d/$2 > $d/again.tsv; cmp $d/again.tsv \"$3\"
    \"$0\" db check $d/$2; rm -rf $d" $<TARGET_FILE:lsmsim> ${db} ${file} ${G}/db/${stem}.expected.tsv)
  set_tests_properties(cli_db_dump_${stem} PROPERTIES PASS_REGULAR_EXPRESSION "^ok: checkpoint")
endforeach()
# load -> dump round trip with default options, then get/put/check, and errors for bad input.
add_test(NAME cli_db_load_dump COMMAND sh -c "set -e; d=$(mktemp -d)
  \"$0\" db load $d/new.db < \"$1\"; \"$0\" db dump $d/new.db > $d/out.tsv; cmp $d/out.tsv \"$1\"
  \"$0\" ckpt decode $d/new.db --page 1 > /dev/null || \"$0\" ckpt decode $d/new.db --page 2 > /dev/null
  \"$0\" db put $d/new.db 00ff 0102; test \"$(\"$0\" db get $d/new.db 00ff)\" = 0102
  if \"$0\" db get $d/new.db 00fe; then exit 1; fi
  \"$0\" db check $d/new.db; rm -rf $d" $<TARGET_FILE:lsmsim> ${G}/db/pub_small_1k.expected.tsv)
set_tests_properties(cli_db_load_dump PROPERTIES PASS_REGULAR_EXPRESSION "ok: checkpoint")
cli_exit2(
    "db_missing|db dump /nonexistent/x.db"
    "db_foreign|db dump ${G}/db/README.md"
    "db_bad_hex|db get ${G}/db/pub_tiny_4k.db zz"
    "db_verb|db frobnicate x")

# A hostile file (here: a checksum-valid checkpoint whose id is at the top of its range, crafted with
# ckpt decode/encode into both meta pages) is refused by dump (exit 2, one line naming file, field and
# value) without a byte written or a log created, and db check reports it (exit 1), also writing nothing.
add_test(NAME cli_db_hostile_id_refused COMMAND sh -c "d=$(mktemp -d); cp \"$1\" $d/h.db; chmod u+w $d/h.db
  \"$0\" ckpt decode $d/h.db --page 1 --json | sed 's/^{\\\"id\\\":[0-9]*/{\\\"id\\\":9223372036854775807/' > $d/j
  \"$0\" ckpt encode $d/j > $d/p || exit 1
  dd if=$d/p of=$d/h.db bs=4096 count=1 conv=notrunc 2>/dev/null; dd if=$d/p of=$d/h.db bs=4096 seek=1 count=1 conv=notrunc 2>/dev/null
  cp $d/h.db $d/before.db
  \"$0\" db dump $d/h.db > $d/out 2> $d/err; rc=$?; cat $d/err
  [ $rc -eq 2 ] && [ $(wc -l < $d/err) -eq 1 ] && grep -q 'h.db: .*id = 9223372036854775807' $d/err || exit 1
  cmp $d/h.db $d/before.db && [ ! -e $d/h.db-log ] || exit 1
  \"$0\" db check $d/h.db > $d/out; rc=$?; cat $d/out
  [ $rc -eq 1 ] && grep -q '^id = 9223372036854775807' $d/out && cmp $d/h.db $d/before.db && [ ! -e $d/h.db-log ] || exit 1
  echo hostile file refused; rm -rf $d" $<TARGET_FILE:lsmsim> ${G}/db/pub_tiny_4k.db)
set_tests_properties(cli_db_hostile_id_refused PROPERTIES PASS_REGULAR_EXPRESSION "hostile file refused")

# The simulator: a campaign of the default scenario, determinism, the canary, the other scenarios.
add_test(NAME sim_campaign_default COMMAND sh -c "set -e; d=$(mktemp -d)
  \"$0\" run --seeds 1..1000 --report $d/r.json --repro-dir $d
  grep -q '\"seed\":1000,\"verdict\":\"pass\",\"trace_hash\":\"[0-9a-f]\\{16\\}\",\"steps\":[1-9]' $d/r.json
  grep -q '\"summary\":{\"seeds\":1000,\"failed\":0' $d/r.json; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(sim_campaign_default PROPERTIES PASS_REGULAR_EXPRESSION "1000 seeds, 1000 passed, 0 failed")
add_test(NAME sim_determinism COMMAND lsmsim run --seeds 1..50 --check-determinism)
set_tests_properties(sim_determinism PROPERTIES PASS_REGULAR_EXPRESSION "50 seeds, 50 passed")
foreach(sc full off ${PROJECT_SOURCE_DIR}/scenarios/full-tiny-pages.json ${PROJECT_SOURCE_DIR}/scenarios/deep-tiny-freelist.json)
  get_filename_component(scname ${sc} NAME_WE)
  add_test(NAME sim_scenario_${scname} COMMAND sh -c "d=$(mktemp -d); \"$0\" run --scenario \"$1\" --seeds 1..200 --repro-dir $d; rc=$?; rm -rf $d; exit $rc"
    $<TARGET_FILE:lsmsim> ${sc})
endforeach()
# The canary damages a promised byte after every crash: every seed must fail, name what diverged, and
# leave a repro file.
add_test(NAME sim_canary_fails COMMAND sh -c "d=$(mktemp -d); \"$0\" run --scenario canary --seeds 1..20 --repro-dir $d > $d/out; rc=$?
  cat $d/out; ls $d/lsmsim-repro-canary-7.json && [ $rc -eq 1 ] && grep -q '0 passed, 20 failed' $d/out &&
  grep -q 'reproduce: lsmsim run --scenario canary --seed 7' $d/out; s=$?; rm -rf $d; exit $s" $<TARGET_FILE:lsmsim>)
set_tests_properties(sim_canary_fails PROPERTIES PASS_REGULAR_EXPRESSION "canary applied in 20 seeds")
cli_exit2(
    "run_no_seeds|run"
    "run_bad_range|run --seeds 5..1"
    "run_bad_duration|run --duration 10x"
    "run_unknown_scenario|run --scenario nope --seed 1"
    "run_bad_scenario_file|run --scenario ${G}/db/README.md --seed 1")
# Same seeds, same trace hashes, on the g++ default build and the sanitizer build (.ci/run builds the
# default preset first, so the sanitizer build's tests can compare against it).
if(LSMSIM_SANITIZE AND EXISTS ${PROJECT_SOURCE_DIR}/build/default/lsmsim)
  add_test(NAME sim_hashes_match_default_build COMMAND sh -c "set -e; d=$(mktemp -d)
    \"$0\" run --seeds 1..50 --report $d/a.json; \"$1\" run --seeds 1..50 --report $d/b.json
    grep -o '\"trace_hash\":\"[0-9a-f]*\"' $d/a.json > $d/a; grep -o '\"trace_hash\":\"[0-9a-f]*\"' $d/b.json > $d/b
    test $(wc -l < $d/a) -eq 50; cmp $d/a $d/b; echo hashes match; rm -rf $d"
    $<TARGET_FILE:lsmsim> ${PROJECT_SOURCE_DIR}/build/default/lsmsim)
  set_tests_properties(sim_hashes_match_default_build PROPERTIES PASS_REGULAR_EXPRESSION "hashes match")
endif()
# The benchmark keeps working (a tiny run; the figures themselves are BENCHMARKS.md's business).
cli_test(db_bench_smoke ARGS db bench --bench_keys 3000 --bench_rounds 1 EXPECT "read-random +lsmsim +[0-9]+ ops/s")
cli_test(run_overhead_smoke ARGS run --overhead --seeds 1..5 EXPECT "SimEnv without faults [0-9.]+ s: [0-9.]+x")
