/* tcpdump expressions, compiled by libpcap's pcap_compile for a link type. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/cbpf.h"

int bpfvm_cbpf_compile(const char *expr, int linktype, int snaplen, struct bpfvm_cbpf_insn **out,
		       size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	pcap_t *p = pcap_open_dead(linktype, snaplen > 0 ? snaplen : 262144);
	if (!p) {
		snprintf(err, errlen, "libpcap cannot open link type %d", linktype);
		return -EINVAL;
	}
	struct bpf_program prog;
	/* Optimized and without a netmask, as tcpdump -r compiles it. */
	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "%s", pcap_geterr(p));
		pcap_close(p);
		return -EINVAL;
	}
	_Static_assert(sizeof(struct bpf_insn) == sizeof(struct bpfvm_cbpf_insn),
		       "libpcap's bpf_insn is struct sock_filter");
	int rc = 0;
	*out = malloc((prog.bf_len ? prog.bf_len : 1) * sizeof(**out));
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	} else {
		for (u_int i = 0; i < prog.bf_len; i++)
			(*out)[i] = (struct bpfvm_cbpf_insn){prog.bf_insns[i].code, prog.bf_insns[i].jt,
							     prog.bf_insns[i].jf, prog.bf_insns[i].k};
		*n = prog.bf_len;
	}
	pcap_freecode(&prog);
	pcap_close(p);
	return rc;
}
