/* Bad objects: truncated or corrupt ELF, wrong machine, relocations against
 * missing symbols, malformed BTF, unknown map types. Every one gives a
 * clear error naming the section or symbol, and none crashes. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/object.h"
#include "loader/objtest.h"

struct blob {
	unsigned char *data;
	size_t len;
};

static int read_blob(const char *path, struct blob *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	b->data = malloc((size_t)len);
	b->len = b->data ? fread(b->data, 1, (size_t)len, f) : 0;
	fclose(f);
	return b->data && b->len == (size_t)len ? 0 : -1;
}

#define COMPILE_BLOB(name, b)                                                   \
	char path_[600];                                                        \
	struct blob b = {0};                                                    \
	OBJTEST_COMPILE(name, path_);                                           \
	if (read_blob(path_, &b)) {                                             \
		harness_fail(__FILE__, __LINE__, "cannot read %s", path_);      \
		return;                                                         \
	}

/* Open bytes; returns rc and copies the message. */
static int try_open(const void *data, size_t len, char *msg, size_t msglen)
{
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj = NULL;
	if (bpfvm_vm_create(&vm))
		return -ENOMEM;
	struct bpfvm_object_opts opts = {.name = "bad.o"};
	int rc = bpfvm_object_open_mem(vm, data, len, &opts, &obj);
	snprintf(msg, msglen, "%s", bpfvm_vm_last_error(vm));
	if (!rc) {
		/* What opens must also list, link and create maps sanely. */
		for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
			size_t n;
			const struct bpfvm_insn *in = bpfvm_object_prog_insns(bpfvm_object_prog_at(obj, i), &n);
			(void)bpfvm_isa_validate(in, n, NULL, 0);
		}
		bpfvm_object_close(obj);
	}
	bpfvm_vm_destroy(vm);
	return rc;
}

/* File offset of a section, found with libelf. */
static long section_offset(struct blob *b, const char *want, size_t *size)
{
	elf_version(EV_CURRENT);
	Elf *elf = elf_memory((char *)b->data, b->len);
	size_t strndx;
	long off = -1;
	if (!elf || elf_getshdrstrndx(elf, &strndx))
		return -1;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		const char *name = elf_strptr(elf, strndx, sh.sh_name);
		if (name && !strcmp(name, want)) {
			off = (long)sh.sh_offset;
			*size = sh.sh_size;
		}
	}
	elf_end(elf);
	return off;
}

TEST(not_an_elf_file_is_rejected)
{
	char msg[512];
	CHECK_EQ(try_open("hello", 5, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "bad.o: not an ELF object");
	CHECK_EQ(try_open("", 0, msg, sizeof(msg)), -EINVAL);
}

TEST(every_truncation_is_an_error_never_a_crash)
{
	COMPILE_BLOB("btf_maps", b);
	char msg[512];
	size_t errors = 0, tried = 0;
	for (size_t len = 0; len < b.len; len += 3, tried++) {
		int rc = try_open(b.data, len, msg, sizeof(msg));
		if (rc) {
			errors++;
			if (!msg[0])
				harness_fail(__FILE__, __LINE__, "truncated at %zu: error without a message", len);
		}
	}
	/* clang puts the section headers last: every cut loses them. */
	CHECK_EQ(errors, tried);
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), 0);
	free(b.data);
}

TEST(corrupt_bytes_never_crash)
{
	COMPILE_BLOB("sections", b);
	unsigned char *copy = malloc(b.len);
	char msg[512];
	uint32_t seed = 12345;
	int failures = 0;
	for (int round = 0; round < 3000 && copy; round++) {
		memcpy(copy, b.data, b.len);
		for (int k = 0; k < 1 + round % 8; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t pos = (seed >> 8) % b.len;
			seed = seed * 1103515245u + 12345u;
			copy[pos] = (unsigned char)(seed >> 16);
		}
		if (try_open(copy, b.len, msg, sizeof(msg))) {
			failures++;
			if (!msg[0])
				harness_fail(__FILE__, __LINE__, "round %d: error without a message", round);
		}
	}
	CHECK(failures > 0); /* some corruptions must be caught */
	free(copy);
	free(b.data);
}

TEST(wrong_machine_is_rejected_with_e_machine)
{
	COMPILE_BLOB("hello", b);
	char msg[512];
	b.data[18] = 62; /* EM_X86_64 */
	b.data[19] = 0;
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "not a BPF object: e_machine is 62");
	free(b.data);
}

TEST(big_endian_and_32_bit_objects_are_rejected)
{
	COMPILE_BLOB("hello", b);
	char msg[512];
	b.data[EI_DATA] = ELFDATA2MSB;
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "big-endian");
	b.data[EI_DATA] = ELFDATA2LSB;
	b.data[EI_CLASS] = ELFCLASS32;
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "64-bit");
	free(b.data);
}

TEST(relocation_against_an_undefined_symbol_names_it)
{
	COMPILE_BLOB("bad_extern", b);
	char msg[512];
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "section xdp: insn 0: relocation against undefined symbol 'missing_variable'");
	free(b.data);
}

TEST(relocation_naming_a_symbol_index_that_does_not_exist)
{
	COMPILE_BLOB("legacy_maps", b);
	size_t size;
	long off = section_offset(&b, "count", &size);
	long rel = section_offset(&b, ".relcount", &size);
	CHECK(off > 0 && rel > 0);
	if (rel <= 0) {
		free(b.data);
		return;
	}
	/* Elf64_Rel: r_offset (8), r_info (8): symbol index in the high half. */
	uint32_t huge = 0x7fffff;
	memcpy(b.data + rel + 12, &huge, 4);
	char msg[512];
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "section .relcount: relocation 0 names symbol 8388607, which does not exist");
	free(b.data);
}

TEST(malformed_btf_is_rejected_naming_the_section)
{
	COMPILE_BLOB("btf_maps", b);
	size_t size;
	long off = section_offset(&b, ".BTF", &size);
	CHECK(off > 0);
	if (off <= 0) {
		free(b.data);
		return;
	}
	char msg[512];
	/* A type section that runs past the end. */
	uint32_t big = 0x7ffffff0;
	memcpy(b.data + off + 12, &big, 4); /* btf_header.type_len */
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "section .BTF: malformed BTF");
	/* A bad magic. */
	memcpy(b.data + off + 12, &(uint32_t){0}, 4);
	b.data[off] ^= 0xff;
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "section .BTF: malformed BTF");
	free(b.data);
}

TEST(malformed_btf_ext_is_rejected_naming_the_section)
{
	COMPILE_BLOB("globals", b);
	size_t size;
	long off = section_offset(&b, ".BTF.ext", &size);
	CHECK(off > 0);
	if (off <= 0) {
		free(b.data);
		return;
	}
	char msg[512];
	uint32_t big = 0x7ffffff0;
	memcpy(b.data + off + 20, &big, 4); /* line_info_len */
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "section .BTF.ext:");
	free(b.data);
}

TEST(unknown_btf_map_type_names_the_map)
{
	COMPILE_BLOB("bad_maptype", b);
	char msg[512];
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "section .maps: map 'strange': unknown map type 999");
	free(b.data);
}

TEST(unknown_legacy_map_type_names_the_map)
{
	COMPILE_BLOB("bad_legacy_maptype", b);
	char msg[512];
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -EINVAL);
	CHECK_CONTAINS(msg, "section maps: map 'weird': unknown map type 250");
	free(b.data);
}

TEST(unknowable_kconfig_option_names_the_extern)
{
	COMPILE_BLOB("bad_kconfig", b);
	char msg[512];
	CHECK_EQ(try_open(b.data, b.len, msg, sizeof(msg)), -ENOENT);
	CHECK_CONTAINS(msg, "extern 'CONFIG_HZ' (.kconfig): bpfvm has no kernel configuration");
	free(b.data);
}

TEST(missing_file_names_the_path)
{
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	CHECK_EQ(bpfvm_object_open_file(vm, "/nonexistent/x.o", NULL, &obj), -ENOENT);
	CHECK_CONTAINS(bpfvm_vm_last_error(vm), "/nonexistent/x.o: No such file");
	bpfvm_vm_destroy(vm);
}
