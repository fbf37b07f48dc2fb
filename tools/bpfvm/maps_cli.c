/* Maps on the command line: --maps=SPEC creates them, --dump-maps prints
 * their contents after a run (hex, or JSON with --json), and ring buffer /
 * perf buffer records are printed as runs produce them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/helpers.h"
#include "bpfvm/maps.h"
#include "cli.h"

#define F_NO_PREALLOC 1u

static const struct {
	const char *name;
	enum bpfvm_map_type type;
} map_types[] = {
	{"hash", BPFVM_MAP_HASH},
	{"array", BPFVM_MAP_ARRAY},
	{"prog_array", BPFVM_MAP_PROG_ARRAY},
	{"perf_event_array", BPFVM_MAP_PERF_EVENT_ARRAY},
	{"percpu_hash", BPFVM_MAP_PERCPU_HASH},
	{"percpu_array", BPFVM_MAP_PERCPU_ARRAY},
	{"lru_hash", BPFVM_MAP_LRU_HASH},
	{"lru_percpu_hash", BPFVM_MAP_LRU_PERCPU_HASH},
	{"lpm_trie", BPFVM_MAP_LPM_TRIE},
	{"queue", BPFVM_MAP_QUEUE},
	{"stack", BPFVM_MAP_STACK},
	{"ringbuf", BPFVM_MAP_RINGBUF},
};
#define NMAP_TYPES (sizeof(map_types) / sizeof(map_types[0]))

static const char *type_name(enum bpfvm_map_type type)
{
	for (size_t i = 0; i < NMAP_TYPES; i++)
		if (map_types[i].type == type)
			return map_types[i].name;
	return type == BPFVM_MAP_ARRAY_OF_MAPS ? "array_of_maps"
	       : type == BPFVM_MAP_HASH_OF_MAPS ? "hash_of_maps" : "unknown";
}

static int parse_u32(const char *s, size_t len, uint32_t *out)
{
	char buf[32];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 0);
	if (errno || *end || v > UINT32_MAX || buf[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* One "type:key_size:value_size:max_entries[:flags]" item. */
static int parse_one(const char *item, size_t len, struct bpfvm_map_def *def, char *err,
		     size_t errlen)
{
	const char *fields[5];
	size_t flen[5];
	int nf = 0;
	const char *p = item, *end = item + len;
	while (nf < 5) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		fields[nf] = p;
		flen[nf++] = colon ? (size_t)(colon - p) : (size_t)(end - p);
		if (!colon)
			break;
		p = colon + 1;
	}
	if (nf < 4 || p + flen[nf - 1] != end) {
		snprintf(err, errlen, "'%.*s': expected type:key_size:value_size:max_entries[:flags]",
			 (int)len, item);
		return -EINVAL;
	}
	size_t t;
	for (t = 0; t < NMAP_TYPES; t++)
		if (strlen(map_types[t].name) == flen[0] && !strncmp(map_types[t].name, fields[0], flen[0]))
			break;
	if (t == NMAP_TYPES) {
		snprintf(err, errlen, "'%.*s': unknown map type '%.*s'", (int)len, item, (int)flen[0],
			 fields[0]);
		return -EINVAL;
	}
	memset(def, 0, sizeof(*def));
	def->type = map_types[t].type;
	uint32_t *dst[4] = {&def->key_size, &def->value_size, &def->max_entries, &def->flags};
	for (int i = 1; i < nf; i++) {
		if (parse_u32(fields[i], flen[i], dst[i - 1])) {
			snprintf(err, errlen, "'%.*s': field %d ('%.*s') is not a number", (int)len, item,
				 i + 1, (int)flen[i], fields[i]);
			return -EINVAL;
		}
	}
	/* The kernel insists on it for LPM tries; spare the user. */
	if (def->type == BPFVM_MAP_LPM_TRIE)
		def->flags |= F_NO_PREALLOC;
	return 0;
}

/* Perf buffers exist once the host puts something in a slot (the kernel
 * wants a perf event fd there): enable every slot. */
static void open_perf_slots(struct bpfvm_map *map)
{
	const struct bpfvm_map_def *def = bpfvm_map_def(map);
	for (uint32_t i = 0; i < def->max_entries; i++)
		bpfvm_map_update(map, &i, &i, BPFVM_ANY);
}

int cli_parse_maps(struct bpfvm_vm *vm, const char *spec, struct bpfvm_map ***maps, size_t *n,
		   char *err, size_t errlen)
{
	*maps = NULL;
	*n = 0;
	struct bpfvm_map **list = NULL;
	size_t count = 0;
	for (const char *p = spec; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct bpfvm_map_def def;
		char name[16];
		int rc = parse_one(p, len, &def, err, errlen);
		if (!rc) {
			snprintf(name, sizeof(name), "map%zu", count);
			def.name = name;
			struct bpfvm_map **grown = realloc(list, (count + 1) * sizeof(*list));
			if (!grown) {
				snprintf(err, errlen, "out of memory");
				rc = -ENOMEM;
			} else {
				list = grown;
				rc = bpfvm_map_create(vm, &def, &list[count]);
				if (rc)
					snprintf(err, errlen, "map %zu '%.*s': %s", count, (int)len, p,
						 bpfvm_vm_last_error(vm));
			}
		}
		if (rc) {
			for (size_t i = 0; i < count; i++)
				bpfvm_map_destroy(list[i]);
			free(list);
			return rc;
		}
		if (def.type == BPFVM_MAP_PERF_EVENT_ARRAY)
			open_perf_slots(list[count]);
		count++;
		p += len + (comma ? 1 : 0);
		if (comma && !*p) {
			snprintf(err, errlen, "empty map after the last ','");
			for (size_t i = 0; i < count; i++)
				bpfvm_map_destroy(list[i]);
			free(list);
			return -EINVAL;
		}
	}
	*maps = list;
	*n = count;
	return 0;
}

/* ---- printing ----------------------------------------------------------------- */

static void print_hex(FILE *out, const void *data, size_t len, const char *sep)
{
	const uint8_t *b = data;
	for (size_t i = 0; i < len; i++)
		fprintf(out, "%s%02x", i ? sep : "", b[i]);
}

struct printer {
	FILE *out;
	int json;
	int first;
	uint32_t map_id;
	const char *kind;
};

static int print_record(void *user, const void *data, size_t size)
{
	struct printer *p = user;
	if (p->json) {
		fprintf(p->out, "%s{\"map\":%u,\"%s\":\"", p->first ? "" : ",", p->map_id, p->kind);
		print_hex(p->out, data, size, "");
		fprintf(p->out, "\"}");
	} else {
		fprintf(p->out, "%s map %u: %zu bytes: ", p->kind, p->map_id, size);
		print_hex(p->out, data, size, " ");
		fputc('\n', p->out);
	}
	p->first = 0;
	return 0;
}

/* Print the records ring buffers and perf buffers hold, consuming them;
 * JSON prints one array per call. */
void cli_poll_buffers(struct bpfvm_vm *vm, FILE *out, int json)
{
	struct printer p = {out, json, 1, 0, NULL};
	int any = 0;
	for (size_t i = 0; i < bpfvm_vm_map_count(vm); i++) {
		struct bpfvm_map *map = bpfvm_vm_map_at(vm, i);
		enum bpfvm_map_type t = bpfvm_map_def(map)->type;
		if (t != BPFVM_MAP_RINGBUF && t != BPFVM_MAP_PERF_EVENT_ARRAY)
			continue;
		if (json && !any)
			fprintf(out, "{\"records\":[");
		any = 1;
		p.map_id = bpfvm_map_id(map);
		p.kind = t == BPFVM_MAP_RINGBUF ? "ringbuf" : "perf";
		if (t == BPFVM_MAP_RINGBUF)
			bpfvm_ringbuf_poll(map, print_record, &p);
		else
			bpfvm_perfbuf_poll(map, print_record, &p);
	}
	if (json && any)
		fprintf(out, "]}\n");
}

/* Host-layout size of a value (per-CPU maps: one 8-aligned value per CPU). */
static size_t host_value_size(const struct bpfvm_map_def *d)
{
	int percpu = d->type == BPFVM_MAP_PERCPU_ARRAY || d->type == BPFVM_MAP_PERCPU_HASH ||
		     d->type == BPFVM_MAP_LRU_PERCPU_HASH;
	return percpu ? (size_t)((d->value_size + 7) & ~7u) * BPFVM_NR_CPUS : d->value_size;
}

static void print_value(FILE *out, const struct bpfvm_map_def *d, const uint8_t *value, int json)
{
	size_t vs = host_value_size(d);
	if (vs == d->value_size) {
		if (json)
			fputc('"', out);
		print_hex(out, value, vs, json ? "" : " ");
		if (json)
			fputc('"', out);
		return;
	}
	size_t stride = (d->value_size + 7) & ~7u;
	if (json)
		fputc('[', out);
	for (int c = 0; c < BPFVM_NR_CPUS; c++) {
		fprintf(out, json ? "%s\"" : "%scpu%d: ", c ? (json ? "," : "  ") : "", c);
		print_hex(out, value + (size_t)c * stride, d->value_size, json ? "" : " ");
		if (json)
			fputc('"', out);
	}
	if (json)
		fputc(']', out);
}

static void print_entry(FILE *out, const struct bpfvm_map_def *d, const void *key,
			const uint8_t *value, int json, int *first)
{
	if (json) {
		fprintf(out, "%s{\"key\":\"", *first ? "" : ",");
		print_hex(out, key, d->key_size, "");
		fprintf(out, "\",\"value\":");
		print_value(out, d, value, 1);
		fputc('}', out);
	} else {
		fprintf(out, "  ");
		if (d->key_size) {
			fprintf(out, "key: ");
			print_hex(out, key, d->key_size, " ");
			fprintf(out, "  ");
		}
		fprintf(out, "value: ");
		print_value(out, d, value, 0);
		fputc('\n', out);
	}
	*first = 0;
}

static void dump_entries(FILE *out, struct bpfvm_map *map, int json)
{
	const struct bpfvm_map_def *d = bpfvm_map_def(map);
	uint8_t *key = calloc(1, d->key_size + 8), *next = calloc(1, d->key_size + 8);
	uint8_t *value = calloc(1, host_value_size(d) + 8);
	int first = 1;
	if (!key || !next || !value)
		goto out;
	if (d->type == BPFVM_MAP_QUEUE || d->type == BPFVM_MAP_STACK) {
		/* No iteration: drain in pop order. */
		while (bpfvm_map_lookup_and_delete(map, NULL, value) == 0)
			print_entry(out, d, NULL, value, json, &first);
		goto out;
	}
	int rc = bpfvm_map_get_next_key(map, NULL, next);
	for (size_t guard = 0; rc == 0 && guard <= (size_t)d->max_entries; guard++) {
		memcpy(key, next, d->key_size);
		if (bpfvm_map_lookup(map, key, value) == 0)
			print_entry(out, d, key, value, json, &first);
		rc = bpfvm_map_get_next_key(map, key, next);
	}
out:
	free(key);
	free(next);
	free(value);
}

void cli_dump_maps(struct bpfvm_vm *vm, FILE *out, int json)
{
	cli_poll_buffers(vm, out, json);
	size_t n = bpfvm_vm_map_count(vm);
	if (json)
		fprintf(out, "{\"maps\":[");
	for (size_t i = 0; i < n; i++) {
		struct bpfvm_map *map = bpfvm_vm_map_at(vm, i);
		const struct bpfvm_map_def *d = bpfvm_map_def(map);
		int dumpable = d->type != BPFVM_MAP_RINGBUF && d->type != BPFVM_MAP_PERF_EVENT_ARRAY;
		if (json) {
			fprintf(out, "%s{\"id\":%u,\"name\":\"%s\",\"type\":\"%s\",\"key_size\":%u,"
				"\"value_size\":%u,\"max_entries\":%u,\"entries\":[",
				i ? "," : "", bpfvm_map_id(map), d->name ? d->name : "", type_name(d->type),
				d->key_size, d->value_size, d->max_entries);
			if (dumpable)
				dump_entries(out, map, 1);
			fprintf(out, "]}");
		} else {
			fprintf(out, "map %u '%s' %s key_size %u value_size %u max_entries %u:\n",
				bpfvm_map_id(map), d->name ? d->name : "", type_name(d->type), d->key_size,
				d->value_size, d->max_entries);
			if (dumpable)
				dump_entries(out, map, 0);
		}
	}
	if (json)
		fprintf(out, "]}\n");
}
