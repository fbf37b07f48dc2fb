/* .BTF (libbpf's btf__new) and the line info of .BTF.ext.
 *
 * libbpf 1.x validates .BTF.ext in btf_ext__new but no longer exports its
 * line-info accessors, so the records are read here from the validated
 * buffer; their layout is the kernel's (include/uapi/linux/btf.h):
 *   header: magic u16, version u8, flags u8, hdr_len u32,
 *           func_info_off u32, func_info_len u32,
 *           line_info_off u32, line_info_len u32 (offsets after hdr_len),
 *           then CO-RE relocations, which bpfvm does not need
 *   line info: rec_size u32, then per section
 *           sec_name_off u32, num_info u32, num_info records of
 *           insn_off u32 (bytes), file_name_off u32, line_off u32,
 *           line_col u32 (line << 10 | column). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "loader/loader.h"

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static struct obj_sec *sec_by_name(struct bpfvm_object *obj, const char *name)
{
	for (size_t i = 0; i < obj->nsecs; i++)
		if (!strcmp(obj->secs[i].name, name))
			return &obj->secs[i];
	return NULL;
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int add_line(struct bpfvm_object *obj, struct obj_sec *sec, const uint8_t *rec)
{
	uint32_t insn_off = rd32(rec), file_off = rd32(rec + 4), line_off = rd32(rec + 8);
	uint32_t line_col = rd32(rec + 12);
	const char *file = btf__str_by_offset(obj->btf, file_off);
	const char *text = btf__str_by_offset(obj->btf, line_off);
	if (!file || !text)
		return obj_error(obj, -EINVAL, "section .BTF.ext: line info of section %s names a "
				 "string outside .BTF", sec->name);
	if (insn_off % 8 || insn_off / 8 >= sec->n)
		return obj_error(obj, -EINVAL, "section .BTF.ext: line info for offset %u is outside "
				 "section %s", insn_off, sec->name);
	struct obj_line *nl = realloc(sec->lines, (sec->nlines + 1) * sizeof(*nl));
	if (!nl)
		return obj_error(obj, -ENOMEM, "out of memory");
	sec->lines = nl;
	struct obj_line *l = &sec->lines[sec->nlines];
	l->insn = insn_off / 8;
	l->file = file;
	l->text = text;
	l->line = line_col >> 10;
	l->col = line_col & 0x3ff;
	/* Trim leading blanks of the source text, as the kernel log does. */
	while (*text == ' ' || *text == '\t')
		text++;
	size_t len = strlen(text) + strlen(file) + 32;
	l->formatted = malloc(len);
	if (!l->formatted)
		return obj_error(obj, -ENOMEM, "out of memory");
	snprintf(l->formatted, len, "%s @ %s:%u", text, basename_of(file), l->line);
	sec->nlines++;
	return 0;
}

static int line_cmp(const void *a, const void *b)
{
	const struct obj_line *x = a, *y = b;
	return x->insn < y->insn ? -1 : x->insn > y->insn;
}

static int read_line_info(struct bpfvm_object *obj, const uint8_t *ext, size_t size)
{
	if (size < 24 || rd32(ext + 4) < 24)
		return 0; /* no line info in this header */
	uint32_t hdr_len = rd32(ext + 4), off = rd32(ext + 16), len = rd32(ext + 20);
	if (!len)
		return 0;
	if ((uint64_t)hdr_len + off + len > size || len < 4)
		return obj_error(obj, -EINVAL, "section .BTF.ext: line info lies outside the section");
	const uint8_t *p = ext + hdr_len + off, *end = p + len;
	uint32_t rec_size = rd32(p);
	p += 4;
	if (rec_size < 16)
		return obj_error(obj, -EINVAL, "section .BTF.ext: line info records of %u bytes", rec_size);
	while (p < end) {
		if (end - p < 8)
			return obj_error(obj, -EINVAL, "section .BTF.ext: truncated line info");
		const char *secname = btf__str_by_offset(obj->btf, rd32(p));
		uint32_t num = rd32(p + 4);
		p += 8;
		if ((uint64_t)num * rec_size > (uint64_t)(end - p))
			return obj_error(obj, -EINVAL, "section .BTF.ext: truncated line info");
		struct obj_sec *sec = secname ? sec_by_name(obj, secname) : NULL;
		for (uint32_t i = 0; sec && i < num; i++) {
			int rc = add_line(obj, sec, p + (size_t)i * rec_size);
			if (rc)
				return rc;
		}
		p += (size_t)num * rec_size;
	}
	for (size_t i = 0; i < obj->nsecs; i++)
		if (obj->secs[i].nlines)
			qsort(obj->secs[i].lines, obj->secs[i].nlines, sizeof(struct obj_line), line_cmp);
	return 0;
}

int obj_load_btf(struct bpfvm_object *obj, size_t btf_shndx, size_t ext_shndx)
{
	GElf_Shdr shdr;
	if (!btf_shndx)
		return 0;
	Elf_Data *data = obj_sec_data(obj, btf_shndx, &shdr);
	if (!data || !data->d_buf)
		return obj_error(obj, -EINVAL, "section .BTF: truncated or corrupt");
	obj->btf = btf__new(data->d_buf, (uint32_t)data->d_size);
	if (!obj->btf) {
		int e = errno ? errno : EINVAL;
		return obj_error(obj, -EINVAL, "section .BTF: malformed BTF (%s)", strerror(e));
	}
	if (!ext_shndx)
		return 0;
	data = obj_sec_data(obj, ext_shndx, &shdr);
	if (!data || !data->d_buf)
		return obj_error(obj, -EINVAL, "section .BTF.ext: truncated or corrupt");
	struct btf_ext *ext = btf_ext__new(data->d_buf, (uint32_t)data->d_size);
	if (!ext) {
		int e = errno ? errno : EINVAL;
		return obj_error(obj, -EINVAL, "section .BTF.ext: malformed (%s)", strerror(e));
	}
	/* btf_ext__new keeps the bytes as given: read the validated copy's
	 * source (libbpf 1.1's packaged .so lacks btf_ext__raw_data). */
	btf_ext__free(ext);
	return read_line_info(obj, data->d_buf, data->d_size);
}
