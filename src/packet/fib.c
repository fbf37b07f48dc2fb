/* The host's FIB (devices, routes, neighbours) and bpf_fib_lookup on it,
 * following the kernel's bpf_ipv4_fib_lookup / bpf_ipv6_fib_lookup
 * (net/core/filter.c): the order of the checks, the return codes and what
 * is written back into struct bpf_fib_lookup. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/testrun.h"
#include "packet/packet.h"

#define ERR(e) ((uint64_t)(int64_t)-(e))
#define LOOPBACK_IFINDEX 1
#define LOOPBACK_MTU 65536
#define DEFAULT_MTU 1500
#define TABLE_DEFAULT 253
#define TABLE_LOCAL 255
#define VLAN_HLEN 4

/* Flags and results by value: the installed uapi header may be older. */
#define F_DIRECT (1u << 0)
#define F_OUTPUT (1u << 1)
#define F_SKIP_NEIGH (1u << 2)
#define F_TBID (1u << 3)
#define F_SRC (1u << 4)
#define F_MARK (1u << 5)
#define F_ALL (F_DIRECT | F_OUTPUT | F_SKIP_NEIGH | F_TBID | F_SRC | F_MARK)
enum {
	RET_SUCCESS, RET_BLACKHOLE, RET_UNREACHABLE, RET_PROHIBIT, RET_NOT_FWDED,
	RET_FWD_DISABLED, RET_UNSUPP_LWT, RET_NO_NEIGH, RET_FRAG_NEEDED, RET_NO_SRC_ADDR,
};

struct bpfvm_fib {
	struct bpfvm_fib_dev *devs;
	size_t ndevs;
	struct bpfvm_fib_route *routes;
	size_t nroutes;
	struct bpfvm_fib_neigh *neighs;
	size_t nneighs;
	char error[160];
};

static int fib_error(struct bpfvm_fib *fib, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fib_error(struct bpfvm_fib *fib, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fib->error, sizeof(fib->error), fmt, ap);
	va_end(ap);
	return err;
}

int bpfvm_fib_create(struct bpfvm_fib **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void bpfvm_fib_destroy(struct bpfvm_fib *fib)
{
	if (!fib)
		return;
	free(fib->devs);
	free(fib->routes);
	free(fib->neighs);
	free(fib);
}

const char *bpfvm_fib_last_error(const struct bpfvm_fib *fib)
{
	return fib ? fib->error : "";
}

/* Append one element of size to *arr (n elements). */
static int append(void *arr, size_t *n, size_t size, const void *elem)
{
	void **a = arr;
	uint8_t *grown = realloc(*a, (*n + 1) * size);
	if (!grown)
		return -ENOMEM;
	memcpy(grown + *n * size, elem, size);
	*a = grown;
	(*n)++;
	return 0;
}

static const struct bpfvm_fib_dev loopback = {.ifindex = LOOPBACK_IFINDEX, .mtu = LOOPBACK_MTU};

static const struct bpfvm_fib_dev *find_dev(const struct bpfvm_fib *fib, uint32_t ifindex)
{
	for (size_t i = 0; fib && i < fib->ndevs; i++)
		if (fib->devs[i].ifindex == ifindex)
			return &fib->devs[i];
	return ifindex == LOOPBACK_IFINDEX ? &loopback : NULL;
}

int bpfvm_fib_add_dev(struct bpfvm_fib *fib, const struct bpfvm_fib_dev *dev)
{
	if (!dev->ifindex)
		return fib_error(fib, -EINVAL, "device ifindex must be > 0");
	struct bpfvm_fib_dev d = *dev;
	if (!d.mtu)
		d.mtu = DEFAULT_MTU;
	for (size_t i = 0; i < fib->ndevs; i++)
		if (fib->devs[i].ifindex == d.ifindex) {
			fib->devs[i] = d;
			return 0;
		}
	return append(&fib->devs, &fib->ndevs, sizeof(d), &d);
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int bpfvm_fib_add_route(struct bpfvm_fib *fib, const struct bpfvm_fib_route *route)
{
	size_t alen = addr_len(route->family);
	if (!alen)
		return fib_error(fib, -EINVAL, "route family %d is not AF_INET or AF_INET6", route->family);
	if (route->prefix_len > alen * 8)
		return fib_error(fib, -EINVAL, "prefix length %u is longer than the address",
				 route->prefix_len);
	if (route->gw_family && !addr_len(route->gw_family))
		return fib_error(fib, -EINVAL, "gateway family %d is not AF_INET or AF_INET6",
				 route->gw_family);
	if (route->type > BPFVM_ROUTE_LOCAL)
		return fib_error(fib, -EINVAL, "unknown route type %d", (int)route->type);
	if (route->type == BPFVM_ROUTE_UNICAST && !find_dev(fib, route->ifindex))
		return fib_error(fib, -ENODEV, "route via device %u, which was not added", route->ifindex);
	struct bpfvm_fib_route r = *route;
	if (!r.table)
		r.table = BPFVM_FIB_TABLE_MAIN;
	return append(&fib->routes, &fib->nroutes, sizeof(r), &r);
}

int bpfvm_fib_add_neigh(struct bpfvm_fib *fib, const struct bpfvm_fib_neigh *neigh)
{
	if (!addr_len(neigh->family))
		return fib_error(fib, -EINVAL, "neighbour family %d is not AF_INET or AF_INET6",
				 neigh->family);
	if (!find_dev(fib, neigh->ifindex))
		return fib_error(fib, -ENODEV, "neighbour on device %u, which was not added",
				 neigh->ifindex);
	return append(&fib->neighs, &fib->nneighs, sizeof(*neigh), neigh);
}

/* ---- lookup ------------------------------------------------------------------ */

static int prefix_matches(const uint8_t *prefix, unsigned plen, const uint8_t *addr)
{
	unsigned full = plen / 8, rest = plen % 8;
	if (memcmp(prefix, addr, full))
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (prefix[full] & mask) == (addr[full] & mask);
}

static int table_exists(const struct bpfvm_fib *fib, uint32_t table)
{
	for (size_t i = 0; fib && i < fib->nroutes; i++)
		if (fib->routes[i].table == table)
			return 1;
	return 0;
}

/* Longest prefix, then lowest metric, in one table; with oif only routes
 * leaving through that device (an output lookup). */
static const struct bpfvm_fib_route *table_lookup(const struct bpfvm_fib *fib, uint32_t table,
						  int family, const uint8_t *dst, uint32_t oif)
{
	const struct bpfvm_fib_route *best = NULL;
	for (size_t i = 0; fib && i < fib->nroutes; i++) {
		const struct bpfvm_fib_route *r = &fib->routes[i];
		if (r->table != table || r->family != family || !prefix_matches(r->dst, r->prefix_len, dst))
			continue;
		if (oif && r->type == BPFVM_ROUTE_UNICAST && r->ifindex != oif)
			continue;
		if (!best || r->prefix_len > best->prefix_len ||
		    (r->prefix_len == best->prefix_len && r->metric < best->metric))
			best = r;
	}
	return best;
}

static const struct bpfvm_fib_neigh *find_neigh(const struct bpfvm_fib *fib, int family,
						const uint8_t *addr, uint32_t ifindex)
{
	for (size_t i = 0; fib && i < fib->nneighs; i++) {
		const struct bpfvm_fib_neigh *n = &fib->neighs[i];
		if (n->family == family && n->ifindex == ifindex && !memcmp(n->addr, addr, addr_len(family)))
			return n;
	}
	return NULL;
}

static int is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* IPv6 addresses never forwarded (rt6_need_strict): multicast, link-local
 * unicast, loopback. */
static int v6_needs_strict(const uint8_t *a)
{
	static const uint8_t lo[16] = {[15] = 1};
	return a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || !memcmp(a, lo, 16);
}

/* Is addr one of the devices' own addresses? The kernel puts those in the
 * local table (RTN_LOCAL), which a lookup through the rules meets first. */
static int is_local_addr(const struct bpfvm_fib *fib, int family, const uint8_t *addr)
{
	size_t alen = addr_len(family);
	for (size_t i = 0; fib && i < fib->ndevs; i++) {
		const uint8_t *own = family == AF_INET ? fib->devs[i].addr4 : fib->devs[i].addr6;
		if (!is_zero(own, alen) && !memcmp(own, addr, alen))
			return 1;
	}
	return 0;
}

/* The route for params: the table lookup of DIRECT (main or, with TBID,
 * params->tbid, which is then cleared), else the local, main and default
 * tables in turn. *ret is set when there is no usable route. */
static const struct bpfvm_fib_route *route_for(const struct bpfvm_fib *fib,
					       struct bpf_fib_lookup *params, uint32_t flags,
					       const uint8_t *dst, int *ret)
{
	int family = params->family == AF_INET ? AF_INET : AF_INET6;
	uint32_t oif = flags & F_OUTPUT ? params->ifindex : 0;
	const struct bpfvm_fib_route *r = NULL;
	if (flags & F_DIRECT) {
		uint32_t table = BPFVM_FIB_TABLE_MAIN;
		if (flags & F_TBID) {
			table = params->tbid;
			params->tbid = 0;
		}
		if (!table_exists(fib, table)) {
			*ret = RET_NOT_FWDED;
			return NULL;
		}
		r = table_lookup(fib, table, family, dst, oif);
	} else {
		static const uint32_t order[] = {TABLE_LOCAL, BPFVM_FIB_TABLE_MAIN, TABLE_DEFAULT};
		if (is_local_addr(fib, family, dst)) {
			*ret = RET_NOT_FWDED;
			return NULL;
		}
		for (size_t i = 0; i < 3 && !r; i++)
			r = table_lookup(fib, order[i], family, dst, oif);
	}
	if (!r) {
		*ret = RET_NOT_FWDED;
		return NULL;
	}
	switch (r->type) {
	case BPFVM_ROUTE_UNICAST:
		return r;
	case BPFVM_ROUTE_BLACKHOLE:
		*ret = RET_BLACKHOLE;
		return NULL;
	case BPFVM_ROUTE_UNREACHABLE:
		*ret = RET_UNREACHABLE;
		return NULL;
	case BPFVM_ROUTE_PROHIBIT:
		*ret = RET_PROHIBIT;
		return NULL;
	default:
		*ret = RET_NOT_FWDED;
		return NULL;
	}
}

/* bpf_ipv4_fib_lookup / bpf_ipv6_fib_lookup on the host's FIB. */
static int64_t fib_lookup(const struct bpfvm_fib *fib, struct bpf_fib_lookup *params,
			  uint32_t flags, int check_mtu)
{
	int v4 = params->family == AF_INET;
	uint8_t *dst = v4 ? (uint8_t *)&params->ipv4_dst : (uint8_t *)params->ipv6_dst;
	uint8_t *src = v4 ? (uint8_t *)&params->ipv4_src : (uint8_t *)params->ipv6_src;
	if (!v4 && (v6_needs_strict(dst) || v6_needs_strict(src)))
		return RET_NOT_FWDED;
	const struct bpfvm_fib_dev *dev = find_dev(fib, params->ifindex);
	if (!dev)
		return -ENODEV;
	if (!dev->forwarding)
		return RET_FWD_DISABLED;
	int ret = 0;
	const struct bpfvm_fib_route *r = route_for(fib, params, flags, dst, &ret);
	if (!r)
		return ret;
	const struct bpfvm_fib_dev *out = find_dev(fib, r->ifindex);
	uint32_t mtu = 0;
	if (check_mtu) {
		mtu = r->mtu && r->mtu_locked ? r->mtu : out->mtu;
		if (params->tot_len > mtu) {
			params->mtu_result = (uint16_t)mtu;
			return RET_FRAG_NEEDED;
		}
	}
	if (r->lwt_encap)
		return RET_UNSUPP_LWT;
	params->rt_metric = r->metric;
	params->ifindex = r->ifindex;
	if (flags & F_SRC) {
		size_t alen = v4 ? 4 : 16;
		const uint8_t *pick = !is_zero(r->prefsrc, alen) ? r->prefsrc : v4 ? out->addr4 : out->addr6;
		if (!v4 && is_zero(pick, alen))
			return RET_NO_SRC_ADDR;
		memcpy(src, pick, alen);
	}
	/* A gateway becomes the destination; an IPv6 gateway of an IPv4
	 * route turns the result into IPv6. */
	int nh_family = v4 ? AF_INET : AF_INET6;
	if (r->gw_family == AF_INET && v4) {
		memcpy(dst, r->gateway, 4);
	} else if (r->gw_family == AF_INET6) {
		params->family = AF_INET6;
		memcpy(params->ipv6_dst, r->gateway, 16);
		dst = (uint8_t *)params->ipv6_dst;
		nh_family = AF_INET6;
	}
	if (!(flags & F_SKIP_NEIGH)) {
		const struct bpfvm_fib_neigh *n = find_neigh(fib, nh_family, dst, r->ifindex);
		if (!n)
			return RET_NO_NEIGH;
		memcpy(params->dmac, n->mac, 6);
		memcpy(params->smac, out->mac, 6);
	}
	params->h_vlan_TCI = 0;
	params->h_vlan_proto = 0;
	if (mtu)
		params->mtu_result = (uint16_t)mtu;
	return RET_SUCCESS;
}

/* bpf_fib_lookup(ctx, params, plen, flags) for XDP and tc. XDP always
 * checks params->tot_len against the MTU; tc only when tot_len is given,
 * else the packet itself against the egress device (is_skb_forwardable),
 * reporting the device MTU. */
uint64_t bpfvm__fib_lookup(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			   struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	struct bpf_fib_lookup *params = (struct bpf_fib_lookup *)(uintptr_t)r2;
	uint32_t flags = (uint32_t)r4;
	if (!pkt || (uint32_t)r3 < sizeof(*params) || (flags & ~F_ALL))
		return ERR(EINVAL);
	if (params->family != AF_INET && params->family != AF_INET6)
		return ERR(EAFNOSUPPORT);
	int xdp = pkt->type == BPFVM_PROG_XDP;
	int check_mtu = xdp || params->tot_len;
	int64_t rc = fib_lookup(pkt->fib, params, flags, check_mtu);
	if (rc == RET_SUCCESS && !check_mtu) {
		const struct bpfvm_fib_dev *dev = find_dev(pkt->fib, params->ifindex);
		uint32_t len = (uint32_t)(pkt->data_end - pkt->data);
		if (len > dev->mtu + ETH_HLEN_ + VLAN_HLEN && !pkt->view.skb.gso_size)
			rc = RET_FRAG_NEEDED;
		params->mtu_result = (uint16_t)dev->mtu;
	}
	return (uint64_t)rc;
}

/* ---- text form ----------------------------------------------------------------- */

#define MAX_TOKENS 24

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > UINT32_MAX || *s == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* An IPv4 or IPv6 address: its family, or 0. */
static int parse_ip(const char *s, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return AF_INET6;
	return 0;
}

/* The value after tok[*i] (the option name), or NULL. */
static const char *arg_of(char **tok, int n, int *i)
{
	return *i + 1 < n ? tok[++*i] : NULL;
}

static int line_dev(struct bpfvm_fib *fib, char **tok, int n)
{
	struct bpfvm_fib_dev d = {0};
	if (n < 2 || parse_u32(tok[1], &d.ifindex))
		return fib_error(fib, -EINVAL, "expected: dev IFINDEX [mac MAC] [mtu N] [forwarding] [addr IP]");
	for (int i = 2; i < n; i++) {
		const char *v;
		uint8_t a[16];
		int at = i;
		if (!strcmp(tok[i], "forwarding")) {
			d.forwarding = 1;
		} else if (!strcmp(tok[i], "mac") && (v = arg_of(tok, n, &i)) && !parse_mac(v, d.mac)) {
		} else if (!strcmp(tok[i], "mtu") && (v = arg_of(tok, n, &i)) && !parse_u32(v, &d.mtu)) {
		} else if (!strcmp(tok[i], "addr") && (v = arg_of(tok, n, &i)) && parse_ip(v, a)) {
			if (strchr(v, ':'))
				memcpy(d.addr6, a, 16);
			else
				memcpy(d.addr4, a, 4);
		} else {
			return fib_error(fib, -EINVAL, "dev: bad or incomplete option '%s'", tok[at]);
		}
	}
	return bpfvm_fib_add_dev(fib, &d);
}

static int route_option(struct bpfvm_fib_route *r, char **tok, int n, int *i)
{
	static const char *const types[] = {"unicast", "blackhole", "unreachable", "prohibit", "local"};
	const char *v;
	uint8_t a[16];
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		if (!strcmp(tok[*i], types[t])) {
			r->type = (enum bpfvm_route_type)t;
			return 0;
		}
	if (!strcmp(tok[*i], "lwt")) {
		r->lwt_encap = 1;
		return 0;
	}
	if (!strcmp(tok[*i], "dev") && (v = arg_of(tok, n, i)))
		return parse_u32(v, &r->ifindex);
	if (!strcmp(tok[*i], "mtu") && (v = arg_of(tok, n, i))) {
		if (!strcmp(v, "lock")) {
			r->mtu_locked = 1;
			if (!(v = arg_of(tok, n, i)))
				return -1;
		}
		return parse_u32(v, &r->mtu);
	}
	if (!strcmp(tok[*i], "table") && (v = arg_of(tok, n, i)))
		return parse_u32(v, &r->table);
	if (!strcmp(tok[*i], "metric") && (v = arg_of(tok, n, i)))
		return parse_u32(v, &r->metric);
	if (!strcmp(tok[*i], "via") && (v = arg_of(tok, n, i)) && (r->gw_family = parse_ip(v, a))) {
		memcpy(r->gateway, a, 16);
		return 0;
	}
	if (!strcmp(tok[*i], "src") && (v = arg_of(tok, n, i)) && parse_ip(v, a)) {
		memcpy(r->prefsrc, a, 16);
		return 0;
	}
	return -1;
}

static int line_route(struct bpfvm_fib *fib, char **tok, int n)
{
	struct bpfvm_fib_route r = {0};
	char *slash = n >= 2 ? strchr(tok[1], '/') : NULL;
	uint32_t plen;
	if (!slash)
		return fib_error(fib, -EINVAL, "expected: route PREFIX/LEN dev IFINDEX [via IP] [mtu [lock] N] "
				 "[table N] [metric N] [src IP] [blackhole|unreachable|prohibit|local] [lwt]");
	*slash = 0;
	r.family = parse_ip(tok[1], r.dst);
	if (!r.family || parse_u32(slash + 1, &plen) || plen > 128)
		return fib_error(fib, -EINVAL, "route: bad prefix '%s/%s'", tok[1], slash + 1);
	r.prefix_len = (uint8_t)plen;
	for (int i = 2; i < n; i++) {
		int at = i;
		if (route_option(&r, tok, n, &i))
			return fib_error(fib, -EINVAL, "route: bad or incomplete option '%s'", tok[at]);
	}
	return bpfvm_fib_add_route(fib, &r);
}

static int line_neigh(struct bpfvm_fib *fib, char **tok, int n)
{
	struct bpfvm_fib_neigh nb = {0};
	if (n != 6 || !(nb.family = parse_ip(tok[1], nb.addr)) || strcmp(tok[2], "dev") ||
	    parse_u32(tok[3], &nb.ifindex) || strcmp(tok[4], "lladdr") || parse_mac(tok[5], nb.mac))
		return fib_error(fib, -EINVAL, "expected: neigh IP dev IFINDEX lladdr MAC");
	return bpfvm_fib_add_neigh(fib, &nb);
}

static int parse_line(struct bpfvm_fib *fib, char *line)
{
	char *tok[MAX_TOKENS], *save = NULL;
	int n = 0;
	char *hash = strchr(line, '#');
	if (hash)
		*hash = 0;
	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (n == MAX_TOKENS)
			return fib_error(fib, -EINVAL, "more than %d words", MAX_TOKENS);
		tok[n++] = t;
	}
	if (!n)
		return 0;
	if (!strcmp(tok[0], "dev"))
		return line_dev(fib, tok, n);
	if (!strcmp(tok[0], "route"))
		return line_route(fib, tok, n);
	if (!strcmp(tok[0], "neigh"))
		return line_neigh(fib, tok, n);
	return fib_error(fib, -EINVAL, "unknown entry '%s' (dev, route or neigh)", tok[0]);
}

int bpfvm_fib_parse(struct bpfvm_fib *fib, const char *text)
{
	char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	int rc = 0, lineno = 0;
	/* strtok_r would skip empty lines and so miscount them: split by hand. */
	for (char *line = copy, *next; line && !rc; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		rc = parse_line(fib, line);
	}
	if (rc) {
		char why[sizeof(fib->error)];
		snprintf(why, sizeof(why), "%s", fib->error);
		fib_error(fib, rc, "line %d: %s", lineno, why);
	}
	free(copy);
	return rc;
}
