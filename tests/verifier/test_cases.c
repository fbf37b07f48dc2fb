/* The Linux 6.18 verifier's verdicts, errnos and key messages for the
 * programs of shared/verifier-cases/cases.txt: bpfvm must agree on each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/harness.h"
#include "verifier/vtest.c"

struct vcase {
	char name[96], type[32], maps[128], license[32], verdict[16], errno_name[16];
	char message[256], detail[256];
	char code[4096];
};

static int errno_of(const char *name)
{
	if (!strcmp(name, "EACCES")) return EACCES;
	if (!strcmp(name, "EINVAL")) return EINVAL;
	if (!strcmp(name, "E2BIG")) return E2BIG;
	if (!strcmp(name, "EPERM")) return EPERM;
	if (!strcmp(name, "EFAULT")) return EFAULT;
	return 0;
}

static void field(const char *line, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	if (!strncmp(line, key, kl) && line[kl] == ':') {
		const char *v = line + kl + 1;
		while (*v == ' ')
			v++;
		snprintf(out, len, "%s", v);
	}
}

/* Parse the next case from f; returns 0 at the end. */
static int next_case(FILE *f, struct vcase *c)
{
	char line[1024];
	int in_code = 0, any = 0;
	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "---")) {
			if (any)
				return 1;
			continue;
		}
		if (line[0] == '#' || (!in_code && !line[0]))
			continue;
		any = 1;
		if (in_code) {
			const char *p = line;
			while (*p == ' ')
				p++;
			if (*p && *p != '#') {
				strncat(c->code, p, sizeof(c->code) - strlen(c->code) - 2);
				strcat(c->code, "\n");
			}
			continue;
		}
		if (!strncmp(line, "code:", 5)) {
			in_code = 1;
			continue;
		}
		field(line, "name", c->name, sizeof(c->name));
		field(line, "prog_type", c->type, sizeof(c->type));
		field(line, "maps", c->maps, sizeof(c->maps));
		field(line, "license", c->license, sizeof(c->license));
		field(line, "verdict", c->verdict, sizeof(c->verdict));
		field(line, "errno", c->errno_name, sizeof(c->errno_name));
		field(line, "message", c->message, sizeof(c->message));
		field(line, "detail", c->detail, sizeof(c->detail));
	}
	return any;
}

TEST(kernel_verdicts_and_messages_for_every_case)
{
	const char *shared = harness_shared_dir();
	char path[512];
	if (!shared)
		SKIP("../shared is absent");
	snprintf(path, sizeof(path), "%s/verifier-cases/cases.txt", shared);
	FILE *f = fopen(path, "r");
	if (!f)
		SKIP("cases.txt is absent");
	struct vcase *c = malloc(sizeof(*c));
	struct vt_result *res = malloc(sizeof(*res));
	int total = 0, agree = 0;
	while (next_case(f, c)) {
		total++;
		vt_load_licensed(c->type, c->code, c->maps, 0, 1, c->license[0] ? c->license : NULL, res);
		int ok;
		if (!strcmp(c->verdict, "accept")) {
			ok = res->rc == 0;
		} else {
			const char *m = strstr(res->msg, ": ");
			m = m ? m + 2 : res->msg;
			ok = res->rc == -errno_of(c->errno_name) && !strcmp(m, c->message);
			if (ok && c->detail[0] && !strstr(res->log, c->detail))
				ok = 0;
		}
		if (ok) {
			agree++;
		} else {
			printf("FAIL %s: expected %s %s '%s' got rc=%d '%s'\n", c->name, c->verdict, c->errno_name,
			       c->message, res->rc, res->msg);
			harness_fail(__FILE__, __LINE__, "case %s disagrees with the kernel", c->name);
		}
	}
	printf("%d/%d cases agree with Linux 6.18\n", agree, total);
	CHECK(total >= 63);
	fclose(f);
	free(c);
	free(res);
}
