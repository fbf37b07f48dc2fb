#!/usr/bin/env bash
# `make install PREFIX=...` installs the library, headers, bpfvm.pc and the
# CLI; a tiny program builds against it with pkg-config and runs.
source tests/common/lib.sh
prefix=$T_TMP/prefix
if ! make -s -j2 BUILD=build/install install PREFIX="$prefix" >"$T_TMP/install.log" 2>&1; then
	t_fail install_succeeds "$(tail -5 "$T_TMP/install.log")"
	t_done; exit
fi
t_ok install_succeeds
for f in lib/libbpfvm.a lib/libbpfvm.so lib/pkgconfig/bpfvm.pc include/bpfvm/bpfvm.h include/bpfvm/opcodes.def bin/bpfvm; do
	[ -e "$prefix/$f" ] && t_ok "installs_$f" || t_fail "installs_$f"
done
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
if cc -o "$T_TMP/tiny" tests/install/tiny.c $(pkg-config --cflags --libs bpfvm) 2>"$T_TMP/cc.log"; then
	t_ok builds_with_pkg_config
	t_expect runs_against_installed_library 0 "0 42" -- env LD_LIBRARY_PATH="$prefix/lib" "$T_TMP/tiny"
else
	t_fail builds_with_pkg_config "$(head -5 "$T_TMP/cc.log")"
fi
t_done
