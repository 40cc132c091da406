/* The XDP program's object file (src/bpf/ahd_xdp.bpf.c, built by clang;
 * the Makefile passes its path as AHD_XDP_OBJ), carried in .rodata so
 * the binary needs no file at run time: src/xdp.c opens it from memory. */
	.section .rodata
	.balign 8
	.globl ahd_xdp_obj
	.type ahd_xdp_obj, @object
ahd_xdp_obj:
	.incbin AHD_XDP_OBJ
	.globl ahd_xdp_obj_end
ahd_xdp_obj_end:
	.section .note.GNU-stack,"",@progbits
