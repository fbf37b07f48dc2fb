/* Internal interface of the standard helpers (src/helpers). */
#ifndef BPFVM_HELPERS_INTERNAL_H
#define BPFVM_HELPERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "maps/map_internal.h"

/* Checked runs: may the program's pointer be read (write = 0) or written
 * for size bytes? Always true for verified programs. */
int bpfvm__helper_mem_ok(struct bpfvm_call_ctx *cc, uint64_t addr, uint64_t size, int write);
/* The map a program passes in a register, or NULL if a checked program
 * passes something that is not a map of its VM. */
struct bpfvm_map *bpfvm__helper_map(struct bpfvm_call_ctx *cc, uint64_t reg);

/* Host memory reads for bpf_probe_read* and %s: 0 or -EFAULT. */
int bpfvm__host_read(struct bpfvm_vm *vm, void *dst, uint64_t addr, size_t size, int user);
/* NUL-terminated string of at most size bytes (NUL included): its length
 * with the NUL, or -EFAULT. */
long bpfvm__host_read_str(struct bpfvm_vm *vm, char *dst, uint64_t addr, size_t size, int user);

/* The kernel's bpf_bprintf_prepare + bstr_printf: format fmt (NUL within
 * fmt_size) with up to nargs u64 args into out; returns the length the
 * text would have (as vsnprintf) or -EINVAL for a format the kernel
 * rejects. */
int bpfvm__bprintf(struct bpfvm_vm *vm, char *out, size_t outsz, const char *fmt, size_t fmt_size,
		   const uint64_t *args, int nargs);

#define HELPER_FN(name)                                                                  \
	uint64_t name(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,   \
		      struct bpfvm_call_ctx *cc)

/* map.c */
HELPER_FN(bpfvm__h_map_lookup_elem);
HELPER_FN(bpfvm__h_map_update_elem);
HELPER_FN(bpfvm__h_map_delete_elem);
HELPER_FN(bpfvm__h_map_push_elem);
HELPER_FN(bpfvm__h_map_pop_elem);
HELPER_FN(bpfvm__h_map_peek_elem);
HELPER_FN(bpfvm__h_perf_event_output);
HELPER_FN(bpfvm__h_ringbuf_output);
HELPER_FN(bpfvm__h_ringbuf_reserve);
HELPER_FN(bpfvm__h_ringbuf_submit);
HELPER_FN(bpfvm__h_ringbuf_discard);
HELPER_FN(bpfvm__h_ringbuf_query);
HELPER_FN(bpfvm__h_for_each_map_elem);
HELPER_FN(bpfvm__h_loop);
/* printk.c */
HELPER_FN(bpfvm__h_trace_printk);
HELPER_FN(bpfvm__h_snprintf);
/* host.c */
HELPER_FN(bpfvm__h_probe_read);
HELPER_FN(bpfvm__h_probe_read_str);
HELPER_FN(bpfvm__h_probe_read_user);
HELPER_FN(bpfvm__h_probe_read_kernel);
HELPER_FN(bpfvm__h_probe_read_user_str);
HELPER_FN(bpfvm__h_probe_read_kernel_str);
HELPER_FN(bpfvm__h_ktime_get_ns);
HELPER_FN(bpfvm__h_ktime_get_boot_ns);
HELPER_FN(bpfvm__h_get_prandom_u32);
HELPER_FN(bpfvm__h_get_smp_processor_id);
HELPER_FN(bpfvm__h_get_current_pid_tgid);
HELPER_FN(bpfvm__h_get_current_uid_gid);
HELPER_FN(bpfvm__h_get_current_comm);
HELPER_FN(bpfvm__h_strtol);
HELPER_FN(bpfvm__h_strtoul);

#endif
