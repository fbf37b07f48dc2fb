#!/usr/bin/env bash
# Build a corpus of real-world BPF objects and measure how many programs
# bpfvm opens, verifies and runs (docs/corpus.md). Sources are public
# open-source repositories; nothing of theirs is committed here.
#
#   corpus.sh build OUTDIR REPO:PATH[,PATH...] ...
#       REPO is a git directory (a clone or mirror) or a git URL (cloned
#       shallow); PATH is a .c file or a directory (its *kern*.c, *.bpf.c
#       and *_bpf.c files). Each compiles with clang -O2 -g -target bpf into
#       OUTDIR/<repo>__<path>.o; failures go to OUTDIR/build.log.
#   corpus.sh user OUTDIR
#       Objects as users bring them: the loader's test programs
#       (tests/loader/progs) built as users build them: clang -O2 -g, with
#       -mcpu=v3, without -g (no BTF), and stripped of DWARF.
#   corpus.sh report OUTDIR [OBJECT...]
#       Runs corpus_check over OUTDIR/*.o (and the extra objects) and
#       prints OUTDIR/results.tsv as a markdown table per source.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BUILD=${BUILD:-build}
INC=/usr/include/$(uname -m)-linux-gnu
ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

die() { echo "corpus.sh: $*" >&2; exit 1; }

vmlinux_h() { # DIR: write DIR/vmlinux.h from the running kernel's BTF
	[ -f "$1/vmlinux.h" ] && return
	mkdir -p "$1"
	cc -O1 -o "$1/vmlinux_h" "$HERE/vmlinux_h.c" -lbpf || return 1
	"$1/vmlinux_h" >"$1/vmlinux.h" || rm -f "$1/vmlinux.h"
}

export_repo() { # REPO DEST: the repository's HEAD tree in DEST
	local repo=$1 dest=$2
	[ -d "$dest" ] && return
	mkdir -p "$dest"
	if [ -d "$repo" ]; then
		git --git-dir="$repo" archive HEAD 2>/dev/null | tar -x -C "$dest" ||
			git -C "$repo" archive HEAD | tar -x -C "$dest"
	else
		git clone -q --depth 1 "$repo" "$dest"
	fi
}

compile_one() { # SRCROOT FILE OUT
	local root=$1 file=$2 out=$3 dir
	dir=$(dirname "$root/$file")
	clang -O2 -g -target bpf -D__TARGET_ARCH_"$ARCH" -Wno-unused-value -Wno-pointer-sign \
		-Wno-compare-distinct-pointer-types -Wno-address-of-packed-member \
		-I"$WORK/include" -I"$INC" -I"$dir" -I"$dir/.." -I"$root" -I"$root/headers" \
		-I"$root/include" -I"$root/common" -I"$root/lib/libbpf/src" \
		-c "$root/$file" -o "$out" 2>>"$OUT/build.log"
}

cmd_build() {
	OUT=$1; shift
	mkdir -p "$OUT"
	WORK=$OUT/.work
	mkdir -p "$WORK/include"
	vmlinux_h "$WORK/include" || echo "no vmlinux.h: CO-RE programs will not build" >&2
	# glibc headers pulled in by -target bpf ask for the 32-bit stubs
	# (what gcc-multilib would install); they declare nothing BPF needs.
	mkdir -p "$WORK/include/gnu" && : >"$WORK/include/gnu/stubs-32.h"
	: >"$OUT/build.log"
	local built=0 failed=0
	for spec in "$@"; do
		local repo=${spec%%:*} paths=${spec#*:} name
		name=$(basename "${repo%/repo}" .git | sed 's/+/_/')
		export_repo "$repo" "$WORK/src/$name" || die "cannot read $repo"
		IFS=, read -ra list <<<"$paths"
		for p in "${list[@]}"; do
			local files
			if [ -d "$WORK/src/$name/$p" ]; then
				files=$(cd "$WORK/src/$name" && find "$p" -name '*kern*.c' -o -name '*.bpf.c' -o -name '*_bpf.c' | sort)
			else
				files=$p
			fi
			for f in $files; do
				local obj="$OUT/${name}__$(echo "${f%.c}" | tr '/' '_').o"
				echo "== $name/$f" >>"$OUT/build.log"
				if compile_one "$WORK/src/$name" "$f" "$obj"; then
					built=$((built + 1))
				else
					failed=$((failed + 1))
					echo "build failed: $name/$f" >&2
				fi
			done
		done
	done
	echo "built $built objects, $failed failed to compile (see $OUT/build.log)"
}

cmd_user() {
	OUT=$1
	mkdir -p "$OUT"
	local f name
	for f in "$ROOT"/tests/loader/progs/*.c; do
		name=$(basename "$f" .c)
		case $name in bad_*) continue ;; esac
		clang -O2 -g -target bpf -I"$INC" -c "$f" -o "$OUT/user-O2-g__$name.o"
		clang -O2 -g -target bpf -mcpu=v3 -I"$INC" -c "$f" -o "$OUT/user-mcpu-v3__$name.o"
		clang -O2 -target bpf -I"$INC" -c "$f" -o "$OUT/user-no-g__$name.o"
		cp "$OUT/user-O2-g__$name.o" "$OUT/user-stripped__$name.o"
		llvm-strip -g "$OUT/user-stripped__$name.o" 2>/dev/null || strip -g "$OUT/user-stripped__$name.o"
	done
}

cmd_report() {
	OUT=$1; shift
	local tool=$OUT/.work/corpus_check
	mkdir -p "$OUT/.work"
	make -C "$ROOT" -s BUILD="$BUILD" lib >/dev/null || die "cannot build libbpfvm"
	cc -O1 -I"$ROOT/include" -o "$tool" "$HERE/corpus_check.c" "$ROOT/$BUILD/libbpfvm.a" \
		$(pkg-config --libs libelf libbpf libpcap zlib) -lpthread -lm || die "cannot build corpus_check"
	# One object at a time, so that a crash is counted, not fatal.
	: >"$OUT/results.tsv"
	for o in "$OUT"/*.o "$@"; do
		[ -f "$o" ] || continue
		timeout 60 "$tool" "$o" >>"$OUT/results.tsv" 2>/dev/null ||
			printf '%s\t-\t-\topen=crash\tverify=n/a\trun=n/a\tcorpus_check exited %s\n' "$o" "$?" >>"$OUT/results.tsv"
	done
	awk -F'\t' '
	function src(path,   b) { b = path; sub(/.*\//, "", b); if (b ~ /__/) { sub(/__.*/, "", b); return b } return "user objects" }
	{
		s = src($1); objs[s "\t" $1] = 1; sources[s] = 1
		if ($4 == "open=fail" || $4 == "open=crash") { openfail[s]++; next }
		if ($2 == "-") next
		progs[s]++
		if ($5 == "verify=ok") ver[s]++
		if ($5 == "verify=n/a") vna[s]++
		if ($6 == "run=ok") ran[s]++
		if ($6 == "run=n/a") rna[s]++
		if ($8 == "kernel=ok") kok[s]++
		if ($8 != "kernel=n/a" && $5 != "verify=n/a") {
			kn[s]++
			if (($8 == "kernel=ok") == ($5 == "verify=ok")) agree[s]++
		}
	}
	END {
		print "| Source | Objects | Objects that open | Programs | Verify | Run | Kernel accepts | bpfvm = kernel |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|"
		for (k in objs) { split(k, a, "\t"); nobj[a[1]]++ }
		for (s in sources) {
			printf "| %s | %d | %d | %d | %s | %d%s | %s | %s |\n", s, nobj[s], nobj[s] - openfail[s], progs[s],
				vna[s] == progs[s] && progs[s] ? "n/a" : sprintf("%d", ver[s]), ran[s],
				rna[s] ? sprintf(" (+%d types without a test run)", rna[s]) : "",
				kn[s] ? sprintf("%d", kok[s]) : "n/a", kn[s] ? sprintf("%d of %d", agree[s], kn[s]) : "n/a"
			t_obj += nobj[s]; t_open += nobj[s] - openfail[s]; t_prog += progs[s]; t_ver += ver[s]; t_ran += ran[s]
			t_kok += kok[s]; t_kn += kn[s]; t_agree += agree[s]
		}
		printf "| **total** | %d | %d | %d | %d | %d | %d | %d of %d |\n", t_obj, t_open, t_prog, t_ver, t_ran, t_kok, t_agree, t_kn
	}' "$OUT/results.tsv"
	echo
	echo "Why programs do not open, verify or run (count, first error; object and program names removed):"
	echo
	awk -F'\t' '$7 != "" && $7 != "no programs" { r = $7; gsub(/\/[^ :]*\.o: /, "", r); gsub(/prog .[A-Za-z_0-9]*.: /, "", r);
		gsub(/insn [0-9]+/, "insn N", r); gsub(/map .[A-Za-z_0-9.]*.: /, "map: ", r); print r }' "$OUT/results.tsv" |
		sed -e 's/^\(verify\|run\|load\): section [^:]*: /\1: /' | sort | uniq -c | sort -rn | head -25 |
		awk '{ n = $1; $1 = ""; printf "- %d ×%s\n", n, $0 }'
}

case ${1:-} in
user) shift; [ $# -eq 1 ] || die "usage: corpus.sh user OUTDIR"; cmd_user "$@" ;;
build) shift; [ $# -ge 2 ] || die "usage: corpus.sh build OUTDIR REPO:PATH..."; cmd_build "$@" ;;
report) shift; [ $# -ge 1 ] || die "usage: corpus.sh report OUTDIR [OBJECT...]"; cmd_report "$@" ;;
*) die "usage: corpus.sh build OUTDIR REPO:PATH... | corpus.sh report OUTDIR [OBJECT...]" ;;
esac
