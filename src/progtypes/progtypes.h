/* Program types: what each type's context looks like, what the verifier
 * allows a program of the type to do, and what it may return.
 *
 * One row per type in a table; other components extend a row's behaviour
 * through the hooks (context rewriting and test runs are added by the
 * test-run component). The verifier reads only this table. */
#ifndef BPFVM_PROGTYPES_H
#define BPFVM_PROGTYPES_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/vm.h"

/* The kernel's BPF_PROG_TYPE_CGROUP_SKB: not in the public enum (bpfvm does
 * not run it) but verified, for its return-value rule. */
#define BPFVM_PROG_CGROUP_SKB_ ((enum bpfvm_prog_type)8)

/* What a context field is to the verifier when it is loaded. */
enum bpfvm_ctx_field_kind {
	BPFVM_CTX_SCALAR = 0,
	BPFVM_CTX_PKT,      /* start of packet data */
	BPFVM_CTX_PKT_END,  /* end of packet data */
	BPFVM_CTX_PKT_META, /* start of packet metadata */
};

/* One range of the context layout: [off, off + size) with its rules. */
struct bpfvm_ctx_field {
	const char *name;
	uint16_t off;
	uint16_t size;         /* full width of the field */
	uint8_t readable;
	uint8_t writable;
	uint8_t narrow_read;   /* loads narrower than size are allowed */
	uint8_t exact_size;    /* loads must use exactly size bytes */
	uint8_t kind;          /* enum bpfvm_ctx_field_kind */
};

/* The result of asking whether an access to the context is allowed. */
struct bpfvm_ctx_access {
	enum bpfvm_ctx_field_kind kind; /* what a load produces */
	const struct bpfvm_ctx_field *field;
};

struct bpfvm_progtype {
	enum bpfvm_prog_type type;
	const char *name;             /* command-line name */
	const struct bpfvm_ctx_field *fields;
	size_t nfields;
	uint32_t ctx_size;            /* bytes a context of this type has */
	int ld_abs;                   /* LD_ABS / LD_IND allowed (skb types) */
	int pkt_write;                /* direct packet writes allowed */
	int raw_memory;               /* r1 = memory, r2 = its length */
	int ret_checked;              /* the return value is range checked */
	int64_t ret_min, ret_max;
	/* Extension points for other components (may be NULL). */
	int (*ctx_access)(const struct bpfvm_progtype *pt, int off, int size, int write,
			  struct bpfvm_ctx_access *out);
};

/* The row of a type, or NULL if bpfvm does not know the type. */
const struct bpfvm_progtype *bpfvm__progtype(enum bpfvm_prog_type type);
/* The row with a command-line name ("xdp", "socket_filter", ...), or NULL. */
const struct bpfvm_progtype *bpfvm__progtype_by_name(const char *name);
/* All rows (for listings). */
const struct bpfvm_progtype *bpfvm__progtypes(size_t *n);
/* Is an access of size bytes at off (read or write) allowed? Fills out. */
int bpfvm__progtype_ctx_access(const struct bpfvm_progtype *pt, int off, int size, int write,
			       struct bpfvm_ctx_access *out);

#endif
