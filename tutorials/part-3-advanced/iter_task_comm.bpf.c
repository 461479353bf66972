// SPDX-License-Identifier: GPL-2.0
// A task iterator in C for Chapter 18: "TGID PID COMM" per task, with a header
// at seq_num 0. Built with:
//
//   clang -g -O2 -target bpf -c iter_task_comm.bpf.c -o iter_task_comm.bpf.o
//
// No vmlinux.h: the kernel types it reads are declared below. task_struct and
// bpf_iter_meta carry preserve_access_index, so clang records each field
// access as a CO-RE relocation and @ts-ebpf/elf resolves it against the
// running kernel's BTF when the program is loaded. The context's own layout
// (meta at 0, task at 8) is the iterator ABI and is checked by the verifier.

typedef unsigned long long __u64;
typedef unsigned int __u32;

#define SEC(name) __attribute__((section(name), used))

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	char comm[16];
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

/* Helper 126 of enum bpf_func_id; GPL-only, like every seq helper. */
static long (*bpf_seq_printf)(struct seq_file *m, const char *fmt, __u32 fmt_size,
			      const void *data, __u32 data_len) = (void *)126;

char LICENSE[] SEC("license") = "GPL";

SEC("iter/task")
int dump_task_comm(struct bpf_iter__task *ctx)
{
	/* static const: the formats go to .rodata, as BPF_SEQ_PRINTF puts them. */
	static const char header[] = "    TGID     PID COMM\n";
	static const char row[] = "%8d%8d %s\n";
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	__u64 args[3];

	if (!task) /* the final call */
		return 0;
	if (ctx->meta->seq_num == 0)
		bpf_seq_printf(seq, header, sizeof(header), 0, 0);
	args[0] = task->tgid;
	args[1] = task->pid;
	args[2] = (__u64)(long)task->comm;
	bpf_seq_printf(seq, row, sizeof(row), args, sizeof(args));
	return 0;
}
