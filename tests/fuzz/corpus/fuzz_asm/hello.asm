; Hello world in bytecode (llvm syntax): the string goes on the stack as
; two 64-bit little-endian words, then bpf_trace_printk (helper 6) prints it
; to the VM's print sink and returns its length.
	r1 = 0x77202c6f6c6c6548 ll        ; "Hello, w"
	*(u64 *)(r10 - 16) = r1
	r1 = 0x0a21646c726f ll            ; "orld!\n" and the terminating NUL
	*(u64 *)(r10 - 8) = r1
	r1 = r10
	r1 += -16                         ; fmt
	r2 = 16                           ; fmt_size, NUL included
	call 6
	r0 = 0
	exit
