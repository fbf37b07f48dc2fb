/* Relocation and linking: each program gets its own code followed by a
 * copy of every function it calls (transitively), with bpf-to-bpf calls,
 * function addresses, map and global-data references rewritten. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

static const struct bpfvm_opinfo *insn_info(const struct bpfvm_insn *insn)
{
	return bpfvm_isa_lookup(insn);
}

static int is_local_call(const struct bpfvm_opinfo *info)
{
	return info && info->kind == BPFVM_KIND_CALL && info->op == BPFVM_CALL_LOCAL;
}

static int is_lddw(const struct bpfvm_opinfo *info)
{
	return info && info->kind == BPFVM_KIND_LDDW;
}

static int add_reloc(struct bpfvm_object *obj, struct obj_sec *sec, const struct obj_reloc *r)
{
	struct obj_reloc *nr = realloc(sec->relocs, (sec->nrelocs + 1) * sizeof(*nr));
	if (!nr)
		return obj_error(obj, -ENOMEM, "out of memory");
	sec->relocs = nr;
	sec->relocs[sec->nrelocs++] = *r;
	return 0;
}

static long data_map_of_section(struct bpfvm_object *obj, size_t shndx)
{
	for (size_t i = 0; i < obj->nmaps; i++)
		if (obj->maps[i].kind == MAP_DATA && obj->maps[i].shndx == shndx)
			return (long)i;
	return -1;
}

static int is_map_section(struct bpfvm_object *obj, size_t shndx)
{
	for (size_t i = 0; i < obj->nmaps; i++)
		if (obj->maps[i].shndx == shndx && obj->maps[i].kind != MAP_DATA)
			return 1;
	return 0;
}

/* Decide what one relocation of a code section means. `addend` is the
 * RELA addend, or the value the instruction holds for REL (clang). */
static int resolve_code_reloc(struct bpfvm_object *obj, struct obj_sec *sec, size_t idx,
			      const struct obj_sym *sym, int64_t addend, int is_rela)
{
	const struct bpfvm_insn *insn = &sec->insns[idx];
	const struct bpfvm_opinfo *info = insn_info(insn);
	struct obj_reloc r = {.insn = idx, .sym = sym->name};
	if (sym->shndx == SHN_UNDEF && is_lddw(info) &&
	    !obj_kconfig_offset(obj, sym->name, &r.map, &r.off)) {
		r.kind = RELOC_DATA; /* a .kconfig extern: its slot in the .kconfig map */
		r.off += (uint32_t)(is_rela ? addend : insn->imm);
		return add_reloc(obj, sec, &r);
	}
	if (sym->shndx == SHN_UNDEF)
		return obj_error(obj, -EINVAL, "section %s: insn %zu: relocation against undefined "
				 "symbol '%s' (%s)", sec->name, idx, sym->name,
				 obj->btf ? "extern variables and kfuncs are not supported"
					  : "no .BTF: __kconfig externs need -g; other externs are not supported");
	long target_sec = sym->shndx < obj->nshndx ? obj->sec_of_shndx[sym->shndx] : -1;
	if (is_local_call(info)) {
		if (target_sec < 0)
			return obj_error(obj, -EINVAL, "section %s: insn %zu: call to '%s', which is not "
					 "code", sec->name, idx, sym->name);
		int64_t t = (int64_t)(sym->value / 8) + (is_rela ? addend / 8 : insn->imm + 1);
		r.kind = RELOC_CALL;
		r.target_sec = (size_t)target_sec;
		r.target = (size_t)t;
		if (sym->value % 8 || t < 0 || (size_t)t >= obj->secs[target_sec].n)
			return obj_error(obj, -EINVAL, "section %s: insn %zu: call to '%s' lands outside "
					 "section %s", sec->name, idx, sym->name, obj->secs[target_sec].name);
		return add_reloc(obj, sec, &r);
	}
	if (!is_lddw(info) || idx + 1 >= sec->n)
		return obj_error(obj, -EINVAL, "section %s: insn %zu: relocation against '%s' on an "
				 "instruction that is neither a call nor a 64-bit load", sec->name, idx,
				 sym->name);
	int64_t off = (int64_t)sym->value + (is_rela ? addend : insn->imm);
	if (target_sec >= 0) {
		r.kind = RELOC_FUNC;
		r.target_sec = (size_t)target_sec;
		r.target = (size_t)(off / 8);
		if (off < 0 || off % 8 || r.target >= obj->secs[target_sec].n)
			return obj_error(obj, -EINVAL, "section %s: insn %zu: address of '%s' is outside "
					 "section %s", sec->name, idx, sym->name, obj->secs[target_sec].name);
		return add_reloc(obj, sec, &r);
	}
	if (is_map_section(obj, sym->shndx)) {
		long m = obj_map_at_symbol(obj, sym, sym->type == STT_SECTION ? (uint64_t)(is_rela ? addend : insn->imm) : 0);
		if (m < 0)
			return obj_error(obj, -EINVAL, "section %s: insn %zu: relocation against '%s', "
					 "which is no map definition", sec->name, idx, sym->name);
		r.kind = RELOC_MAP;
		r.map = (size_t)m;
		return add_reloc(obj, sec, &r);
	}
	long dm = data_map_of_section(obj, sym->shndx);
	if (dm >= 0) {
		if (off < 0 || (uint64_t)off >= obj->maps[dm].data_size)
			return obj_error(obj, -EINVAL, "section %s: insn %zu: '%s' + %lld is outside "
					 "section %s", sec->name, idx, sym->name, (long long)(off - (int64_t)sym->value),
					 obj->maps[dm].name);
		r.kind = RELOC_DATA;
		r.map = (size_t)dm;
		r.off = (uint32_t)off;
		return add_reloc(obj, sec, &r);
	}
	return obj_error(obj, -EINVAL, "section %s: insn %zu: relocation against '%s' in section %s, "
			 "which holds no maps, data or code", sec->name, idx, sym->name,
			 obj_sec_name(obj, sym->shndx));
}

int obj_collect_code_relos(struct bpfvm_object *obj, size_t relshndx, size_t secidx)
{
	struct obj_sec *sec = &obj->secs[secidx];
	const char *relname = obj_sec_name(obj, relshndx);
	GElf_Shdr shdr;
	Elf_Data *data = obj_sec_data(obj, relshndx, &shdr);
	if (!data || !shdr.sh_entsize)
		return obj_error(obj, -EINVAL, "section %s: truncated or corrupt", relname);
	size_t n = shdr.sh_size / shdr.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Rela rela;
		GElf_Rel rel;
		int is_rela = shdr.sh_type == SHT_RELA;
		if (is_rela ? !gelf_getrela(data, (int)i, &rela) : !gelf_getrel(data, (int)i, &rel))
			return obj_error(obj, -EINVAL, "section %s: relocation %zu is corrupt", relname, i);
		if (!is_rela)
			rela = (GElf_Rela){rel.r_offset, rel.r_info, 0};
		size_t symi = GELF_R_SYM(rela.r_info);
		if (symi == 0 || symi >= obj->nsyms)
			return obj_error(obj, -EINVAL, "section %s: relocation %zu names symbol %zu, which "
					 "does not exist", relname, i, symi);
		if (rela.r_offset % 8 || rela.r_offset / 8 >= sec->n)
			return obj_error(obj, -EINVAL, "section %s: relocation %zu against '%s' at offset "
					 "%llu is outside section %s", relname, i, obj->syms[symi].name,
					 (unsigned long long)rela.r_offset, sec->name);
		int rc = resolve_code_reloc(obj, sec, rela.r_offset / 8, &obj->syms[symi],
					    rela.r_addend, is_rela);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- linking ------------------------------------------------------------- */

struct linker {
	struct bpfvm_object *obj;
	struct bpfvm_object_prog *prog;
	size_t *base;  /* per obj->funcs: position in the program, SIZE_MAX = absent */
	size_t *order; /* functions in the order they were appended */
	size_t norder;
	size_t cap;    /* of prog->insns */
};

static long func_at(struct bpfvm_object *obj, size_t sec, size_t insn)
{
	for (size_t f = 0; f < obj->nfuncs; f++) {
		const struct obj_func *fn = &obj->funcs[f];
		if (fn->sec == sec && insn >= fn->start && insn < fn->start + fn->len)
			return (long)f;
	}
	return -1;
}

static int append_func(struct linker *lk, size_t f)
{
	const struct obj_func *fn = &lk->obj->funcs[f];
	struct bpfvm_object_prog *p = lk->prog;
	if (p->n + fn->len > lk->cap) {
		size_t cap = (p->n + fn->len) * 2;
		struct bpfvm_insn *ni = realloc(p->insns, cap * sizeof(*ni));
		if (!ni)
			return obj_error(lk->obj, -ENOMEM, "out of memory");
		p->insns = ni;
		lk->cap = cap;
	}
	memcpy(p->insns + p->n, lk->obj->secs[fn->sec].insns + fn->start, fn->len * sizeof(*p->insns));
	lk->base[f] = p->n;
	lk->order[lk->norder++] = f;
	struct obj_linked_func *nf = realloc(p->funcs, (p->nfuncs + 1) * sizeof(*nf));
	if (!nf)
		return obj_error(lk->obj, -ENOMEM, "out of memory");
	p->funcs = nf;
	p->funcs[p->nfuncs++] = (struct obj_linked_func){fn->name, p->n};
	p->n += fn->len;
	return 0;
}

/* Position in the program of instruction `insn` of section `sec`,
 * appending the function holding it if the program lacks it. */
static int link_target(struct linker *lk, size_t from_f, size_t from_insn, size_t sec, size_t insn,
		       const char *sym, size_t *pos)
{
	struct bpfvm_object *obj = lk->obj;
	long f = func_at(obj, sec, insn);
	if (f < 0)
		return obj_error(obj, -EINVAL, "section %s: prog '%s': insn %zu refers to insn %zu of "
				 "section %s ('%s'), which is in no function",
				 obj->secs[obj->funcs[from_f].sec].name, lk->prog->name, from_insn, insn,
				 obj->secs[sec].name, sym ? sym : "?");
	if (lk->base[f] == SIZE_MAX) {
		int rc = append_func(lk, (size_t)f);
		if (rc)
			return rc;
	}
	*pos = lk->base[f] + (insn - obj->funcs[f].start);
	return 0;
}

static const struct obj_reloc *reloc_at(const struct obj_sec *sec, size_t insn)
{
	for (size_t i = 0; i < sec->nrelocs; i++)
		if (sec->relocs[i].insn == insn)
			return &sec->relocs[i];
	return NULL;
}

static int32_t rel_imm(size_t target, size_t pos)
{
	return (int32_t)((int64_t)target - (int64_t)pos - 1);
}

/* Rewrite the instructions of function f, now at lk->base[f]. */
static int relocate_func(struct linker *lk, size_t f)
{
	struct bpfvm_object *obj = lk->obj;
	const struct obj_func *fn = &obj->funcs[f];
	const struct obj_sec *sec = &obj->secs[fn->sec];
	for (size_t i = fn->start; i < fn->start + fn->len; i++) {
		size_t pos = lk->base[f] + (i - fn->start);
		const struct obj_reloc *r = reloc_at(sec, i);
		const struct bpfvm_opinfo *info = insn_info(&sec->insns[i]);
		size_t target;
		int rc;
		if (is_lddw(info) && i + 1 >= fn->start + fn->len)
			return obj_error(obj, -EINVAL, "section %s: function '%s': 64-bit load at insn "
					 "%zu is cut off by the end of the function", sec->name, fn->name, i);
		if (!r) {
			/* A call to a static function of the same section
			 * needs no relocation: the offset is already right
			 * within the section. */
			if (!is_local_call(info))
				continue;
			int64_t t = (int64_t)i + 1 + sec->insns[i].imm;
			if (t < 0 || (size_t)t >= sec->n)
				return obj_error(obj, -EINVAL, "section %s: function '%s': call at insn %zu "
						 "leaves the section", sec->name, fn->name, i);
			rc = link_target(lk, f, i, fn->sec, (size_t)t, NULL, &target);
			if (rc)
				return rc;
			lk->prog->insns[pos].imm = rel_imm(target, pos);
			continue;
		}
		struct bpfvm_insn *in = &lk->prog->insns[pos];
		switch (r->kind) {
		case RELOC_MAP:
			in[0].src = BPFVM_LDDW_MAP_FD;
			in[0].imm = (int32_t)r->map;
			in[1].imm = 0;
			break;
		case RELOC_DATA:
			in[0].src = BPFVM_LDDW_MAP_VALUE;
			in[0].imm = (int32_t)r->map;
			in[1].imm = (int32_t)r->off;
			break;
		case RELOC_CALL:
		case RELOC_FUNC:
			rc = link_target(lk, f, i, r->target_sec, r->target, r->sym, &target);
			if (rc)
				return rc;
			in = &lk->prog->insns[pos]; /* the program may have grown */
			in[0].imm = rel_imm(target, pos);
			if (r->kind == RELOC_FUNC) {
				in[0].src = BPFVM_LDDW_FUNC;
				in[1].imm = 0;
			}
			break;
		}
	}
	return 0;
}

static int attach_line_info(struct linker *lk)
{
	struct bpfvm_object *obj = lk->obj;
	struct bpfvm_object_prog *p = lk->prog;
	int any = 0;
	for (size_t k = 0; k < lk->norder; k++)
		any |= obj->secs[obj->funcs[lk->order[k]].sec].nlines > 0;
	if (!any)
		return 0;
	p->line_info = calloc(p->n, sizeof(*p->line_info));
	p->lines = calloc(p->n, sizeof(*p->lines));
	if (!p->line_info || !p->lines)
		return obj_error(obj, -ENOMEM, "out of memory");
	for (size_t k = 0; k < lk->norder; k++) {
		const struct obj_func *fn = &obj->funcs[lk->order[k]];
		const struct obj_sec *sec = &obj->secs[fn->sec];
		for (size_t l = 0; l < sec->nlines; l++) {
			const struct obj_line *line = &sec->lines[l];
			if (line->insn < fn->start || line->insn >= fn->start + fn->len)
				continue;
			size_t pos = lk->base[lk->order[k]] + line->insn - fn->start;
			p->lines[pos] = line;
			p->line_info[pos] = line->formatted;
		}
	}
	return 0;
}

int obj_link_prog(struct bpfvm_object *obj, struct bpfvm_object_prog *prog)
{
	struct linker lk = {obj, prog, NULL, NULL, 0, 0};
	lk.base = malloc(obj->nfuncs * sizeof(*lk.base));
	lk.order = malloc(obj->nfuncs * sizeof(*lk.order));
	prog->uses_map = calloc(obj->nmaps ? obj->nmaps : 1, 1);
	int rc = 0;
	if (!lk.base || !lk.order || !prog->uses_map)
		rc = obj_error(obj, -ENOMEM, "out of memory");
	for (size_t f = 0; !rc && f < obj->nfuncs; f++)
		lk.base[f] = SIZE_MAX;
	if (!rc)
		rc = append_func(&lk, prog->func);
	/* Appending a callee adds it to `order`: the loop reaches it. */
	for (size_t k = 0; !rc && k < lk.norder; k++)
		rc = relocate_func(&lk, lk.order[k]);
	if (!rc)
		rc = attach_line_info(&lk);
	for (size_t pc = 0; !rc && pc < prog->n; pc++) {
		const struct bpfvm_insn *in = &prog->insns[pc];
		if (is_lddw(insn_info(in)) && (in->src == BPFVM_LDDW_MAP_FD || in->src == BPFVM_LDDW_MAP_VALUE) &&
		    (size_t)in->imm < obj->nmaps)
			prog->uses_map[in->imm] = 1;
	}
	free(lk.base);
	free(lk.order);
	return rc;
}

void obj_prog_free(struct bpfvm_object_prog *prog)
{
	if (prog->handle)
		bpfvm_prog_destroy(prog->handle);
	free(prog->insns);
	free(prog->line_info);
	free(prog->lines);
	free(prog->funcs);
	free(prog->uses_map);
}
