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
# Hostile files: only regular files are read or opened as databases; a directory, a device or a /proc
# file is refused before anything is read or written (it used to abort on an iostream exception, hang
# on /dev/zero, or open /dev/null as a database and create /dev/null-log).
cli_exit2(
    "ckpt_decode_dir|ckpt decode ${G}/db"
    "ckpt_decode_dir_page|ckpt decode ${G}/db --page 1"
    "ckpt_decode_dev_zero|ckpt decode /dev/zero --page 2"
    "ckpt_decode_proc_mem|ckpt decode /proc/self/mem --page 1"
    "ckpt_summary_dir|ckpt summary ${G}/ckpt/052_compact_meta1.bin ${G}/db"
    "ckpt_summary_dev_zero|ckpt summary /dev/zero"
    "ckpt_encode_dir|ckpt encode ${G}/db"
    "ckpt_encode_dev_zero|ckpt encode /dev/zero"
    "ckpt_encode_proc_mem|ckpt encode /proc/self/mem"
    "db_dump_dir|db dump ${G}/db"
    "db_dump_dev_zero|db dump /dev/zero"
    "db_dump_proc_mem|db dump /proc/self/mem"
    "db_get_dev_zero|db get /dev/zero 00"
    "db_put_dev_null|db put /dev/null 00 01"
    "db_check_dir|db check ${G}/db"
    "db_load_dev_null|db load /dev/null"
    "run_scenario_dir|run --scenario ${G}/db --seed 1"
    "run_scenario_dev_zero|run --scenario /dev/zero --seed 1"
    "run_scenario_proc_mem|run --scenario /proc/self/mem --seed 1")
# /dev/null is refused as a database: nothing written next to it.
add_test(NAME cli_db_dump_dev_null COMMAND sh -c "rm -f /dev/null-log; e=$(mktemp); \"$0\" db dump /dev/null 2>$e; rc=$?; cat $e
  n=$(wc -l < $e); rm -f $e; [ $rc -eq 2 ] && [ $n -eq 1 ] && [ ! -e /dev/null-log ] && [ -c /dev/null ]" $<TARGET_FILE:lsmsim>)
set_tests_properties(cli_db_dump_dev_null PROPERTIES PASS_REGULAR_EXPRESSION "open /dev/null: a character device, not a regular file")
# A FIFO would block every open; a file too long for what it should be is refused by its size.
add_test(NAME cli_hostile_fifo_and_long_files COMMAND sh -c "d=$(mktemp -d); mkfifo $d/fifo; truncate -s 2M $d/big.json
  for args in 'db dump' 'db load' 'ckpt decode' 'ckpt summary' 'ckpt encode' 'run --seed 1 --scenario'; do
    timeout 20 \"$0\" $args $d/fifo 2>$d/e; rc=$?; cat $d/e; [ $rc -eq 2 ] && [ $(wc -l < $d/e) -eq 1 ] || { echo FAIL $args; exit 1; }
  done
  for args in 'ckpt encode' 'run --seed 1 --scenario'; do
    \"$0\" $args $d/big.json 2>$d/e; rc=$?; cat $d/e; [ $rc -eq 2 ] && grep -q 'is 2097152 bytes, too long' $d/e || { echo FAIL $args; exit 1; }
  done; rm -rf $d; echo all refused" $<TARGET_FILE:lsmsim>)
set_tests_properties(cli_hostile_fifo_and_long_files PROPERTIES PASS_REGULAR_EXPRESSION "a FIFO, not a regular file.*all refused")
# db load's input: a line that never ends, unreadable stdin, a bad line: exit 2, and no database left.
add_test(NAME cli_db_load_bad_stdin COMMAND sh -c "d=$(mktemp -d)
  for input in /dev/zero $d \"$1\"; do
    \"$0\" db load $d/x.db < $input 2>$d/e; rc=$?; cat $d/e
    [ $rc -eq 2 ] && [ $(wc -l < $d/e) -eq 1 ] && [ ! -e $d/x.db ] && [ ! -e $d/x.db-log ] || { echo FAIL $input; exit 1; }
  done; rm -rf $d; echo all refused" $<TARGET_FILE:lsmsim> ${G}/db/README.md)
set_tests_properties(cli_db_load_bad_stdin PROPERTIES PASS_REGULAR_EXPRESSION
  "stdin line 1: longer than 67108864 bytes.*cannot read stdin: Is a directory.*stdin line 1: expected HEX_KEY<TAB>HEX_VALUE.*all refused")
# db load's geometry flags: the file has the page and block size asked for; bad values name the flag.
add_test(NAME cli_db_load_geometry COMMAND sh -c "set -e; d=$(mktemp -d)
  \"$0\" db load $d/new.db --page_size 1024 --block_size 131072 --safety full --automerge 3 < \"$1\"
  \"$0\" ckpt decode $d/new.db --page 1 --json > $d/p1 || \"$0\" ckpt decode $d/new.db --page 2 --json > $d/p1
  grep -o '\"blksz\":[0-9]*,\"pgsz\":[0-9]*' $d/p1
  \"$0\" db dump $d/new.db | cmp - \"$1\"; \"$0\" db check $d/new.db; rm -rf $d" $<TARGET_FILE:lsmsim> ${G}/db/pub_small_1k.expected.tsv)
set_tests_properties(cli_db_load_geometry PROPERTIES PASS_REGULAR_EXPRESSION
  "\"blksz\":131072,\"pgsz\":1024.*page size 1024, block size 131072")
cli_exit2(
    "load_page_not_pow2|db load /nonexistent/new.db --page_size 1000"
    "load_page_small|db load /nonexistent/new.db --page_size 128"
    "load_page_large|db load /nonexistent/new.db --page_size 131072"
    "load_block_small|db load /nonexistent/new.db --block_size 32768"
    "load_block_not_pow2|db load /nonexistent/new.db --block_size 100000"
    "load_block_large|db load /nonexistent/new.db --block_size 134217728"
    "load_block_one_page|db load /nonexistent/new.db --page_size 65536 --block_size 65536"
    "load_safety|db load /nonexistent/new.db --safety sometimes"
    "load_automerge_low|db load /nonexistent/new.db --automerge 1"
    "load_automerge_high|db load /nonexistent/new.db --automerge 17"
    "load_flag_on_dump|db dump ${G}/db/pub_tiny_4k.db --page_size 1024"
    "bench_keys_huge|db bench --bench_keys 9223372036854775807"
    "bench_keys_zero|db bench --bench_keys 0"
    "bench_rounds_huge|db bench --bench_rounds 1000000"
    "bench_scans_zero|db bench --bench_scans 0"
    "bench_cache_negative|db bench --bench_cache_kb -1")
cli_test(load_flag_names_it ARGS db load /nonexistent/new.db --automerge 17 EXPECT "--automerge 17 is outside 2..16")

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
# A failing seed's repro file lands in ./lsmsim-repro/ (made on demand); `lsmsim replay` runs it again:
# the same trace hash and the failure (exit 1); a repro whose hash no longer matches is DIVERGED (exit 3);
# a damaged repro file is bad input (exit 2, one line).
add_test(NAME sim_replay_reproduces COMMAND sh -c "d=$(mktemp -d); cd $d; \"$0\" run --scenario canary --seed 7 > out
  [ $? -eq 1 ] && f=lsmsim-repro/lsmsim-repro-canary-7.json && [ -s $f ] && grep -q \"or: lsmsim replay $f\" out || exit 1
  h=$(sed 's/.*\"trace_hash\":\"\\([0-9a-f]*\\)\".*/\\1/' $f)
  \"$0\" replay $f > rep; [ $? -eq 1 ] && grep -q \"FAIL reproduced (trace hash $h)\" rep && grep -q 'keys out of order' rep || { cat rep; exit 1; }
  sed 's/\"trace_hash\":\"[0-9a-f]*\"/\"trace_hash\":\"0123456789abcdef\"/' $f > bad.json
  \"$0\" replay bad.json > div; [ $? -eq 3 ] && grep -q 'DIVERGED: trace hash' div || { cat div; exit 1; }
  head -c 100 $f > cut.json; \"$0\" replay cut.json 2> err; [ $? -eq 2 ] && [ $(wc -l < err) -eq 1 ] || exit 1
  echo replay checked; cd /; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(sim_replay_reproduces PROPERTIES PASS_REGULAR_EXPRESSION "replay checked")
# `lsmsim shrink` makes the canary's 272-operation failure of seed 7 a handful of operations that fail the
# same way, and the small repro replays.
add_test(NAME sim_shrink_canary COMMAND sh -c "d=$(mktemp -d); cd $d; \"$0\" run --scenario canary --seed 7 > /dev/null
  \"$0\" shrink lsmsim-repro/lsmsim-repro-canary-7.json -o small.json > out || { cat out; exit 1; }
  cat out; n=$(sed -n 's/^after: *\\([0-9]*\\) operations.*/\\1/p' out); [ -n \"$n\" ] && [ $n -le 5 ] || exit 1
  grep -q '^failure kind: integrity check after recovery' out || exit 1
  \"$0\" replay small.json > rep; [ $? -eq 1 ] && grep -q 'FAIL reproduced' rep || { cat rep; exit 1; }
  echo shrink checked; cd /; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(sim_shrink_canary PROPERTIES PASS_REGULAR_EXPRESSION "shrink checked")
# `lsmsim report merge`: the reports of seeds 1..5 and 6..9 merge into exactly the report of 1..9 (seeds
# in order, every count summed); overlapping reports are refused.
add_test(NAME sim_report_merge COMMAND sh -c "set -e; d=$(mktemp -d); cd $d
  \"$0\" run --seeds 1..5 --report a.json > /dev/null; \"$0\" run --seeds 6..9 --report b.json > /dev/null
  \"$0\" run --seeds 1..9 --report all.json > /dev/null
  \"$0\" report merge b.json a.json -o m.json; cmp m.json all.json
  if \"$0\" report merge a.json a.json 2> err; then exit 1; fi; grep -q 'seed 1 is in both' err
  echo merge checked; cd /; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(sim_report_merge PROPERTIES PASS_REGULAR_EXPRESSION "merge checked")
# --jobs: seeds on worker threads give byte for byte the report of --jobs 1 (every verdict, count and
# trace hash, in seed order).
add_test(NAME sim_jobs_identical COMMAND sh -c "set -e; d=$(mktemp -d); cd $d
  \"$0\" run --seeds 1..300 --jobs 1 --report one.json > /dev/null; \"$0\" run --seeds 1..300 --jobs 3 --report three.json > /dev/null
  cmp one.json three.json; echo jobs checked; cd /; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(sim_jobs_identical PROPERTIES PASS_REGULAR_EXPRESSION "jobs checked")
# --shard i/n: the shards of a campaign are disjoint and their merged report is exactly the whole
# campaign's. --seed_from_commit shifts the seeds by the commit's first 12 hex digits (0xabcdef123456).
add_test(NAME sim_shards_and_commit_seeds COMMAND sh -c "set -e; d=$(mktemp -d); cd $d
  for i in 0 1 2; do \"$0\" run --seeds 1..90 --shard $i/3 --jobs 2 --report s$i.json > /dev/null; done
  \"$0\" run --seeds 1..90 --report all.json > /dev/null
  \"$0\" report merge s2.json s0.json s1.json -o merged.json > /dev/null; cmp merged.json all.json
  \"$0\" run --seeds 1..2 --seed_from_commit abcdef1234567890 --report c.json | grep -q 'shifted by 188900967593046'
  grep -q '\"seed\":188900967593047,' c.json; grep -q '\"seed\":188900967593048,' c.json
  echo shards checked; cd /; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(sim_shards_and_commit_seeds PROPERTIES PASS_REGULAR_EXPRESSION "shards checked")
# --junit: well-formed JUnit XML with the campaign and each failing seed, whose failure text is its
# reproduction line.
add_test(NAME sim_junit COMMAND sh -c "d=$(mktemp -d); cd $d; \"$0\" run --scenario canary --seeds 1..3 --junit j.xml > /dev/null
  [ $? -eq 1 ] && xmllint --noout j.xml && grep -q '<testsuite name=\"lsmsim run canary\" tests=\"4\" failures=\"4\"' j.xml &&
  grep -q 'name=\"seed 2\"><failure' j.xml && grep -q 'reproduce: lsmsim run --scenario canary --seed 2 --canary' j.xml || exit 1
  \"$0\" run --seeds 1..3 --junit ok.xml > /dev/null && xmllint --noout ok.xml && grep -q 'failures=\"0\"' ok.xml || exit 1
  echo junit checked; cd /; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(sim_junit PROPERTIES PASS_REGULAR_EXPRESSION "junit checked")
cli_exit2(
    "run_no_seeds|run"
    "run_shard_bad|run --seeds 1..9 --shard 3/3"
    "run_shard_empty|run --seeds 5..5 --shard 1/2"
    "run_commit_bad|run --seeds 1..2 --seed_from_commit xyz"
    "run_jobs_negative|run --seeds 1..2 --jobs -1"
    "run_bad_range|run --seeds 5..1"
    "run_bad_duration|run --duration 10x"
    "run_unknown_scenario|run --scenario nope --seed 1"
    "run_bad_scenario_file|run --scenario ${G}/db/README.md --seed 1")
# Scenario values the engine (or the simulator) does not accept are scenario errors when it loads: exit 2,
# one line naming the field. cli_scenario_exit2(name json field): the scenario is written to a fresh
# directory, which also holds zeros.db (8 KB of zeros, no valid checkpoint), for relative start_from paths.
function(cli_scenario_exit2 name json field)
  add_test(NAME cli_exit2_scenario_${name} COMMAND sh -c "d=$(mktemp -d); printf '%s' \"$1\" > $d/s.json; head -c 8192 /dev/zero > $d/zeros.db
    \"$0\" run --scenario $d/s.json --seed 1 2>$d/err; rc=$?; cat $d/err; n=$(wc -l < $d/err)
    grep -q \"$2\" $d/err; g=$?; rm -rf $d; [ $rc -eq 2 ] && [ $n -eq 1 ] && [ $g -eq 0 ]" $<TARGET_FILE:lsmsim> "${json}" "${field}")
endfunction()
cli_scenario_exit2(autoflush_max [=[{"autoflush_kb": [1, 4294967295]}]=] [=["autoflush_kb": item 1 is not an integer in \[0, 1048576\]]=])
cli_scenario_exit2(page_not_pow2 [=[{"page_size": [1000]}]=] [=["page_size": item 0 is not a power of two]=])
cli_scenario_exit2(page_small [=[{"page_size": [128]}]=] [=["page_size"]=])
cli_scenario_exit2(page_fills_block [=[{"page_size": [65536], "block_size": 65536}]=] [=["page_size" and "block_size": block size 65536 holds fewer than 2 pages]=])
cli_scenario_exit2(block_not_pow2 [=[{"block_size": 100000}]=] [=["block_size": expected a power of two]=])
cli_scenario_exit2(automerge_1 [=[{"automerge": [2, 1]}]=] [=["automerge": item 1]=])
cli_scenario_exit2(max_freelist [=[{"max_freelist": 25}]=] [=["max_freelist"]=])
cli_scenario_exit2(sector_size [=[{"sector_size": 1000}]=] [=["sector_size": expected a power of two]=])
cli_scenario_exit2(crash_window [=[{"crash_window": 0}]=] [=["crash_window"]=])
cli_scenario_exit2(name_path [=[{"name": "../elsewhere"}]=] [=["name"]=])
cli_scenario_exit2(weights_zero [=[{"weights": {"put": 0, "erase": 0, "erase_range": 0, "get": 0, "scan": 0, "begin": 0, "commit": 0, "rollback": 0, "flush": 0, "work": 0, "checkpoint": 0, "reopen": 0, "crash": 0, "user_version": 0}}]=] [=["weights": every weight is 0]=])
cli_scenario_exit2(start_missing [=[{"start_from": "missing.db"}]=] [=["start_from": /.*/missing.db: no such file]=])
cli_scenario_exit2(start_zeros [=[{"start_from": "zeros.db"}]=] [=["start_from": /.*/zeros.db is not a database (neither meta page holds a valid checkpoint)]=])
cli_scenario_exit2(start_short [=[{"start_from": "golden:db/README.md"}]=] [=["start_from": /.*/README.md is not a database]=])
cli_scenario_exit2(start_dir [=[{"start_from": "."}]=] [=["start_from": .*: not a regular file]=])
cli_scenario_exit2(start_page_conflict [=[{"start_from": "golden:db/pub_tiny_4k.db", "page_size": [1024]}]=] [=["page_size": 1024 conflicts with the file: start_from /.*/pub_tiny_4k.db has page size 4096]=])
cli_scenario_exit2(start_expected_alone [=[{"start_expected": "x.tsv"}]=] [=["start_expected": needs start_from]=])
cli_scenario_exit2(start_expected_missing [=[{"start_from": "golden:db/pub_tiny_4k.db", "start_expected": "x.tsv"}]=] [=["start_expected": /.*/x.tsv: no such file]=])

# The fault catalogue: `lsmsim faults` lists every family; the `faults` field is checked at load; a
# short swarm campaign (every family) passes, counts what fired per family, and is deterministic;
# --faults classic runs the same scenario with power loss and drop-unsynced only.
add_test(NAME cli_faults_list COMMAND sh -c "d=$(mktemp -d); \"$0\" faults > $d/out; n=$(wc -l < $d/out)
  i=$(grep -c ' in contract ' $d/out); o=$(grep -c ' out of contract ' $d/out); rm -rf $d
  echo families $n, in contract $i, out of contract $o; [ $n -eq 14 ] && [ $i -eq 9 ] && [ $o -eq 5 ]" $<TARGET_FILE:lsmsim>)
set_tests_properties(cli_faults_list PROPERTIES PASS_REGULAR_EXPRESSION "families 14, in contract 9, out of contract 5")
add_test(NAME sim_campaign_swarm COMMAND sh -c "set -e; d=$(mktemp -d)
  \"$0\" run --scenario swarm --seeds 1..150 --report $d/r.json --repro-dir $d
  grep -q '\"summary\":{\"seeds\":150,\"failed\":0' $d/r.json; grep -q '\"families\":{\"power-loss\":{\"seeds\":[1-9]' $d/r.json
  grep -q '\"fault_counts\":{' $d/r.json; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(sim_campaign_swarm PROPERTIES PASS_REGULAR_EXPRESSION "150 seeds, 150 passed, 0 failed.*family +seeds +fired +changed")
add_test(NAME sim_swarm_determinism COMMAND lsmsim run --scenario swarm --seeds 1..30 --check-determinism)
set_tests_properties(sim_swarm_determinism PROPERTIES PASS_REGULAR_EXPRESSION "30 seeds, 30 passed")
add_test(NAME sim_faults_classic COMMAND lsmsim run --scenario faults-torn --faults classic --seeds 1..50)
set_tests_properties(sim_faults_classic PROPERTIES PASS_REGULAR_EXPRESSION "50 seeds, 50 passed")
cli_exit2("run_bad_fault_model|run --faults modern --seed 1")
cli_scenario_exit2(faults_unknown_family [=[{"faults": {"families": ["torn", "tron"]}}]=] [=["faults.families\[1\]": unknown family "tron"]=])
cli_scenario_exit2(faults_bad_rate [=[{"faults": {"families": {"io-error": 0}}}]=] [=["faults.families.io-error": expected a rate per 10000]=])
cli_scenario_exit2(faults_bad_sector [=[{"faults": {"families": "all", "sector_size": [1024]}}]=] [=["faults.sector_size": item 0 is not 512 or 4096]=])
cli_scenario_exit2(faults_unknown_field [=[{"faults": {"families": "all", "rate": 3}}]=] [=["faults": unknown field "rate"]=])

# Campaigns that start from each public golden database (SQLite4 LSM's files, scenarios/golden/): crashes,
# recoveries and every oracle on real files, with the model seeded from the engine's reading of the file
# (cross-checked against NAME.expected.tsv). Seeds per file keep the whole set near a minute of ctest
# time. These fail while the engine mishandles the file (the message names the seed, the op and the keys).
foreach(pair pub_tiny_4k:200 pub_small_1k:100 pub_bigval_4k:120 pub_replay_1k:120 pub_moved_1k:40 pub_inprogress_1k:40)
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 stem)
  list(GET pair 1 n)
  add_test(NAME sim_start_from_${stem} COMMAND sh -c "d=$(mktemp -d); \"$0\" run --scenario \"$1\" --seeds 1..$2 --repro-dir $d; rc=$?; rm -rf $d; exit $rc"
    $<TARGET_FILE:lsmsim> ${PROJECT_SOURCE_DIR}/scenarios/golden/${stem}.json ${n})
  set_tests_properties(sim_start_from_${stem} PROPERTIES PASS_REGULAR_EXPRESSION "${n} seeds, ${n} passed, 0 failed"
    ENVIRONMENT "LSMSIM_GOLDEN_DIR=${G}" LABELS compat_corpus)
endforeach()
add_test(NAME sim_start_from_determinism COMMAND lsmsim run --scenario ${PROJECT_SOURCE_DIR}/scenarios/golden/pub_replay_1k.json --seeds 1..10 --check-determinism)
set_tests_properties(sim_start_from_determinism PROPERTIES PASS_REGULAR_EXPRESSION "10 seeds, 10 passed")
# Same seeds, same trace hashes, on the g++ default build and the sanitizer build (.ci/run builds the
# default preset first, so the sanitizer build's tests can compare against it).
if(LSMSIM_SANITIZE AND EXISTS ${PROJECT_SOURCE_DIR}/build/default/lsmsim)
  add_test(NAME sim_hashes_match_default_build COMMAND sh -c "set -e; d=$(mktemp -d)
    \"$0\" run --seeds 1..50 --report $d/a.json; \"$1\" run --seeds 1..50 --report $d/b.json
    grep -o '\"trace_hash\":\"[0-9a-f]*\"' $d/a.json > $d/a; grep -o '\"trace_hash\":\"[0-9a-f]*\"' $d/b.json > $d/b
    test $(wc -l < $d/a) -eq 50; cmp $d/a $d/b
    \"$0\" run --scenario \"$2\" --seeds 1..10 --report $d/c.json; \"$1\" run --scenario \"$2\" --seeds 1..10 --report $d/e.json
    grep -o '\"trace_hash\":\"[0-9a-f]*\"' $d/c.json > $d/c; grep -o '\"trace_hash\":\"[0-9a-f]*\"' $d/e.json > $d/e
    test $(wc -l < $d/c) -eq 10; cmp $d/c $d/e
    \"$0\" run --scenario swarm --seeds 1..20 --report $d/f.json --repro-dir $d; \"$1\" run --scenario swarm --seeds 1..20 --report $d/g.json --repro-dir $d
    grep -o '\"trace_hash\":\"[0-9a-f]*\"' $d/f.json > $d/f; grep -o '\"trace_hash\":\"[0-9a-f]*\"' $d/g.json > $d/g
    test $(wc -l < $d/f) -eq 20; cmp $d/f $d/g; echo hashes match; rm -rf $d"
    $<TARGET_FILE:lsmsim> ${PROJECT_SOURCE_DIR}/build/default/lsmsim ${PROJECT_SOURCE_DIR}/scenarios/golden/pub_replay_1k.json)
  set_tests_properties(sim_hashes_match_default_build PROPERTIES PASS_REGULAR_EXPRESSION "hashes match")
endif()
# The benchmark keeps working (a tiny run; the figures themselves are BENCHMARKS.md's business).
cli_test(db_bench_smoke ARGS db bench --bench_keys 3000 --bench_rounds 1 EXPECT "read-random +lsmsim +[0-9]+ ops/s")
cli_test(run_overhead_smoke ARGS run --overhead --seeds 1..5 EXPECT "SimEnv without faults [0-9.]+ s: [0-9.]+x")

# The CI examples (README, "Campaigns on many machines") parse as YAML and use only flags lsmsim has.
add_test(NAME ci_examples_use_real_flags COMMAND python3 ${PROJECT_SOURCE_DIR}/.ci/check_ci_examples.py $<TARGET_FILE:lsmsim>
  ${PROJECT_SOURCE_DIR}/.github/workflows/nightly.yml ${PROJECT_SOURCE_DIR}/.ci/k8s/campaign.yaml)

# Regression cases (scenarios/regressions/README.md): each repro file replays with its recorded trace
# hash and passes, or, with an expected_failure reason, fails as recorded. With the golden campaigns above
# they are the compatibility corpus: ctest -L compat_corpus (every build runs them with the rest).
file(GLOB LSMSIM_REGRESSIONS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/scenarios/regressions/*.json)
foreach(case ${LSMSIM_REGRESSIONS})
  get_filename_component(case_name ${case} NAME_WE)
  file(READ ${case} case_json)
  string(JSON reason ERROR_VARIABLE no_reason GET "${case_json}" expected_failure)
  if(no_reason)
    add_test(NAME regression_${case_name} COMMAND lsmsim replay ${case})
  else()
    add_test(NAME regression_${case_name} COMMAND sh -c "\"$0\" replay \"$1\"; [ $? -eq 1 ]" $<TARGET_FILE:lsmsim> ${case})
  endif()
  set_tests_properties(regression_${case_name} PROPERTIES LABELS compat_corpus)
endforeach()

# A bad scenario file is refused with FILE:LINE:COLUMN, the field and what was expected (exit 2, one line):
# a wrong type, an unknown field, a syntax error.
add_test(NAME cli_scenario_errors_point_at_the_value COMMAND sh -c "d=$(mktemp -d)
  printf '{\\n  \"name\": \"x\",\\n  \"ops\": \"many\"\\n}\\n' > $d/type.json
  printf '{\\n  \"name\": \"x\",\\n  \"opz\": 3\\n}\\n' > $d/unknown.json
  printf '{\\n  \"name\": \"x\",\\n  \"ops\": 3,\\n}\\n' > $d/syntax.json
  for f in type unknown syntax; do \"$0\" run --scenario $d/$f.json --seeds 1..1 2> $d/$f.err; [ $? -eq 2 ] && [ $(wc -l < $d/$f.err) -eq 1 ] || exit 1; done
  grep -q \"type.json:3:10: scenario field .ops.: expected an integer\" $d/type.err &&
  grep -q \"unknown.json:3:10: scenario: unknown field .opz.\" $d/unknown.err &&
  grep -q \"syntax.json:4:1: JSON: syntax error while parsing object key\" $d/syntax.err || { cat $d/*.err; exit 1; }
  echo positions checked; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(cli_scenario_errors_point_at_the_value PROPERTIES PASS_REGULAR_EXPRESSION "positions checked")

# lsmsim compat (sim/cli/compat_command.cc): the same build on both sides passes, both ways; a build with a
# deliberately changed checkpoint layout (lsmsim_weakened, LSMSIM_WEAKEN=checkpoint_layout_changed) is
# reported as a break naming the field; a bad image directory is a clean input error.
add_test(NAME compat_same_build_passes_both_ways COMMAND sh -c "d=$(mktemp -d)
  \"$0\" compat --old \"$0\" --new \"$0\" --seeds 1..6 --both_ways --compat_dir $d/images > $d/out || { cat $d/out; exit 1; }
  [ $(grep -c '6 seeds, 6 passed, 0 broke' $d/out) -eq 2 ] || { cat $d/out; exit 1; }
  echo compat passed; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(compat_same_build_passes_both_ways PROPERTIES PASS_REGULAR_EXPRESSION "compat passed")
cli_exit2("compat_recover_names_a_missing_image|compat recover /nonexistent/lsmsim-image")
if(LSMSIM_VARIANTS)
  # The changed build: lsmsim_weakened with the layout change switched on, as one executable.
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/lsmsim_changed_layout
    CONTENT "#!/bin/sh\nLSMSIM_WEAKEN=checkpoint_layout_changed exec \"$<TARGET_FILE:lsmsim_weakened>\" \"$@\"\n"
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  add_test(NAME compat_reports_a_changed_checkpoint_layout COMMAND sh -c "d=$(mktemp -d)
    \"$0\" compat --old \"$0\" --new \"$1\" --seeds 1..2 --both_ways --compat_dir $d/images > $d/out; rc=$?
    [ $rc -eq 1 ] || { echo exit $rc; cat $d/out; exit 1; }
    grep -q 'the reading build refuses it: checkpoint word 7 (pgsz)' $d/out &&
    [ $(grep -c '2 seeds, 0 passed, 2 broke' $d/out) -eq 2 ] &&
    grep -q 'reproduce: ' $d/out || { cat $d/out; exit 1; }
    echo break reported; rm -rf $d" $<TARGET_FILE:lsmsim> ${PROJECT_BINARY_DIR}/lsmsim_changed_layout)
  set_tests_properties(compat_reports_a_changed_checkpoint_layout PROPERTIES PASS_REGULAR_EXPRESSION "break reported")
endif()

# lsmsim explore: a bounded exploration of the default scenario's seed 1 (a few seconds): every state
# passes on the real engine, and the JSON report and the HTML page are written.
add_test(NAME explore_bounded_default_seed COMMAND sh -c "d=$(mktemp -d)
  \"$0\" explore --max_states 20000 --recovery_depth 1 --jobs 2 --report $d/r.json --html $d/r.html > $d/out; rc=$?
  [ $rc -eq 0 ] || { echo exit $rc; cat $d/out; exit 1; }
  grep -q 'failures: 0' $d/out && grep -q 'coverage by recovery path' $d/out && grep -q '<table>' $d/r.html &&
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r[\"states\"] == 20000 and r[\"failures\"] == []' $d/r.json ||
  { cat $d/out; exit 1; }
  echo explored; rm -rf $d" $<TARGET_FILE:lsmsim>)
set_tests_properties(explore_bounded_default_seed PROPERTIES PASS_REGULAR_EXPRESSION "explored")
cli_exit2(
    "explore_bad_window|explore --window 99"
    "explore_bad_depth|explore --recovery_depth 9"
    "explore_bad_scenario|explore --scenario /nonexistent.json")
if(LSMSIM_VARIANTS)
  # A failing explored state leaves a repro file that replay re-runs from step 0 and fails again.
  add_test(NAME explore_repro_replays_a_weakened_failure COMMAND sh -c "d=$(mktemp -d)
    LSMSIM_WEAKEN=full_commit_not_synced \"$0\" explore --crash_every_step --recovery_depth 0 --max_states 400 --repro_dir $d > $d/out
    [ $? -eq 1 ] || { cat $d/out; exit 1; }
    LSMSIM_WEAKEN=full_commit_not_synced \"$0\" replay $d/lsmsim-explore-default-1-1.json > $d/replay; rc=$?
    [ $rc -eq 1 ] && grep -q 'FAIL reproduced' $d/replay || { echo exit $rc; cat $d/out $d/replay; exit 1; }
    echo reproduced; rm -rf $d" $<TARGET_FILE:lsmsim_weakened>)
  set_tests_properties(explore_repro_replays_a_weakened_failure PROPERTIES PASS_REGULAR_EXPRESSION "reproduced")
endif()
