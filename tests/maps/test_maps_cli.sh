#!/usr/bin/env bash
# bpfvm run --maps / --dump-maps / --json, ring buffer records printed
# after the run, and the hello world example (make example).
cd "$(dirname "$0")/../.."
. tests/common/lib.sh

cat >"$T_TMP/m.s" <<'ASM'
r1 = 7
*(u32 *)(r10 - 4) = r1
r1 = 42
*(u64 *)(r10 - 16) = r1
r1 = map[0] ll
r2 = r10
r2 += -4
r3 = r10
r3 += -16
r4 = 0
call 2
r1 = map[1] ll
r2 = r10
r2 += -16
r3 = 8
r4 = 0
call 130
r0 = 0
exit
ASM

t_expect dump_maps_prints_hash_entry_in_hex 0 "key: 07 00 00 00  value: 2a 00 00 00 00 00 00 00" -- \
	"$BPFVM" run --maps=hash:4:8:16,ringbuf:0:0:4096 --dump-maps "$T_TMP/m.s"
t_expect ringbuf_record_printed_after_run 0 "ringbuf map 2: 8 bytes: 2a 00 00 00 00 00 00 00" -- \
	"$BPFVM" run --maps=hash:4:8:16,ringbuf:0:0:4096 "$T_TMP/m.s"
t_expect dump_maps_json 0 '"entries":[{"key":"07000000","value":"2a00000000000000"}]' -- \
	"$BPFVM" run --maps=hash:4:8:16,ringbuf:0:0:4096 --dump-maps --json "$T_TMP/m.s"
t_expect dump_maps_json_records 0 '{"records":[{"map":2,"ringbuf":"2a00000000000000"}]}' -- \
	"$BPFVM" run --maps=hash:4:8:16,ringbuf:0:0:4096 --dump-maps --json "$T_TMP/m.s"
t_expect maps_spec_missing_field_is_usage_error 2 "expected type:key_size:value_size:max_entries" -- \
	"$BPFVM" run --maps=hash:4:8 "$T_TMP/m.s"
t_expect maps_spec_unknown_type 2 "unknown map type 'hashh'" -- \
	"$BPFVM" run --maps=hashh:4:8:16 "$T_TMP/m.s"
t_expect maps_spec_kernel_validation_message 2 "key_size 4" -- \
	"$BPFVM" run --maps=array:8:8:4 "$T_TMP/m.s"
t_expect program_referring_to_missing_map_fails 1 "map 1 does not exist" -- \
	"$BPFVM" run --no-verify --maps=hash:4:8:16 "$T_TMP/m.s"
t_expect percpu_dump_shows_every_cpu 0 "cpu3: 00 00 00 00" -- \
	"$BPFVM" run --maps=hash:4:8:16,ringbuf:0:0:4096,percpu_array:4:4:1 --dump-maps "$T_TMP/m.s"
t_expect hello_example_prints_its_line 0 "Hello, world!" -- "$BPFVM" run examples/hello.asm
t_expect hello_example_checked_mode 0 "Hello, world!" -- "$BPFVM" run --no-verify examples/hello.asm
t_done
