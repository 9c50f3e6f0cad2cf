/*
 * The syscall table (owner: emu/kernel): what every part of dupmm knows of a
 * syscall, made from the rows of <dupmm/syscall_64.def>.  The parser reads
 * arguments back by their kind, the strace writer prints them, the replay
 * and the CPU driver call the handler (do_syscall), the fuzzer generates and
 * shrinks calls by their arguments' kinds, the reference model is keyed by
 * the row, and dupmm-hostrun performs the call on the host from it.
 *
 * This header and emu/kernel/syscall_table.c depend on GLib only, so that
 * dupmm-hostrun, which does not link the model, uses the same table.
 */
#ifndef DUPMM_SYSCALL_H
#define DUPMM_SYSCALL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define SYS_MAX_ARGS	  6
#define SYS_STRUCT_FIELDS 12
#define SYS_PSEUDO	  (-1) /* the nr of a pseudo-call of the trace language */

/* How strace prints an argument, and so how the parser reads it back. */
enum sys_arg_kind {
	SA_NONE,   /* no such argument */
	SA_INT,	   /* a signed integer, in decimal */
	SA_UINT,   /* an unsigned integer, in decimal */
	SA_ADDR,   /* a user address: hex, NULL for 0 */
	SA_LEN,	   /* a length in bytes, in decimal */
	SA_OFF,	   /* a file offset, in hex */
	SA_FD,	   /* a file descriptor, in decimal (a dirfd's set names AT_FDCWD) */
	SA_PID,	   /* a process id, in decimal (wait4: -1 any child) */
	SA_MODE,   /* file mode bits, in octal */
	SA_FLAGS,  /* bits by name, with perhaps one enumerated field (sym_set) */
	SA_ENUM,   /* one value by name */
	SA_STR,	   /* a NUL-terminated string in user memory: a path */
	SA_PTR,	   /* a pointer the model does not follow (a buffer, argv, a status) */
	SA_STRUCT, /* a struct in user memory the handler reads: {field=value, ...} */
	SA_BYTE,   /* a byte value, in hex (mem_write) */
};

/* Symbolic names of one argument's values, in the order strace prints them. */
struct sym {
	const char *name;
	uint64_t value;
};

struct sym_set {
	const char *name;
	/*
	 * The bits of one enumerated field within the flags (MAP_TYPE,
	 * O_ACCMODE), whose value is named as a whole, first; 0: none.
	 */
	uint64_t enum_mask;
	/* The bits holding a signal, named after the flags (CSIGNAL); 0: none. */
	uint64_t signal_mask;
	const struct sym *syms;
	unsigned int nsyms;
};

#define SAF_OPTIONAL 0x1 /* left out by strace (and the writer) when zero */

struct sys_struct_desc;

struct sys_arg_desc {
	const char *name; /* the man page's name; strace's key when keyed */
	enum sys_arg_kind kind;
	const struct sym_set *set;	      /* SA_FLAGS and SA_ENUM; a dirfd's AT_FDCWD */
	const struct sys_struct_desc *layout; /* SA_STRUCT */
	signed char slot;		      /* the register it goes in; -1: its position */
	bool keyed;			      /* strace prints name=value */
	unsigned char flags;		      /* SAF_* */
};

/* A struct argument: its fields, each a 64-bit word, in memory order. */
struct sys_struct_desc {
	const char *name;
	struct sys_arg_desc fields[SYS_STRUCT_FIELDS]; /* name NULL ends */
};

/* SCF_*: what a row's call is, beyond its arguments. */
#define SCF_RET_ADDR 0x01 /* the result is an address (printed in hex) */
#define SCF_RET_FD   0x02 /* the result is a new file descriptor */
#define SCF_RET_PID  0x04 /* the result is a pid */
#define SCF_CLONE    0x08 /* makes a task; the result is the child's pid */
#define SCF_EXIT     0x10 /* ends the task (or its thread group) */
#define SCF_EXEC     0x20 /* gives the task a new address space */
#define SCF_NOHOST   0x40 /* dupmm-hostrun cannot perform it (brk: its own heap) */
#define SCF_RET_BYTE 0x80 /* the result is a byte value, in hex (mem_read) */

struct syscall_desc {
	int nr; /* the x86-64 number; SYS_PSEUDO for mem_read/mem_write */
	const char *name;
	unsigned int flags; /* SCF_* */
	bool modelled;	    /* a handler serves it; the replay skips the others */
	/* {addr slot, len slot} of the ranges it acts on; -1: none (see the .def) */
	signed char range[2][2];
	struct sys_arg_desc args[SYS_MAX_ARGS]; /* in strace's order; name NULL ends */
};

/* The rows' ids (SC_mmap, ...) and the x86-64 numbers (NR_mmap, ...). */
enum syscall_id {
#define SYSCALL(nr, name, ...)	  SC_##name,
#define UNMODELLED(nr, name, ...) SC_##name,
#define PSEUDO(name, ...)	  SC_##name,
#include "syscall_64.def"
#undef SYSCALL
#undef UNMODELLED
#undef PSEUDO
	NR_SYSCALL_ROWS
};

enum {
#define SYSCALL(nr, name, ...)	  NR_##name = nr,
#define UNMODELLED(nr, name, ...) NR_##name = nr,
#define PSEUDO(name, ...)
#include "syscall_64.def"
#undef SYSCALL
#undef UNMODELLED
#undef PSEUDO
};

extern const struct syscall_desc syscall_table[NR_SYSCALL_ROWS];

/* Syscall arguments: the registers, and what a replayed log shows of user memory. */
struct sys_args {
	uint64_t a[SYS_MAX_ARGS];
	const char *str[SYS_MAX_ARGS];	 /* SA_STR the log shows (NULL: read user memory) */
	bool has_obj;			 /* the SA_STRUCT argument as the log shows it: */
	uint64_t obj[SYS_STRUCT_FIELDS]; /* its fields (else: read user memory) */
	int child_pid;			 /* the clone family: the pid to give the child (0: next) */
};

static inline enum syscall_id syscall_id(const struct syscall_desc *d)
{
	return (enum syscall_id)(d - syscall_table);
}

const struct syscall_desc *syscall_by_name(const char *name);
const struct syscall_desc *syscall_by_nr(int nr); /* NULL if not in the table */
unsigned int syscall_nargs(const struct syscall_desc *d);
/* The register of the i-th argument in strace's order. */
unsigned int syscall_arg_slot(const struct syscall_desc *d, unsigned int i);
/* The clone flags a call of the clone family makes the child with (fork: SIGCHLD). */
uint64_t syscall_clone_flags(const struct syscall_desc *d, const struct sys_args *a);

/* A symbolic constant strace prints (PROT_READ, MAP_SHARED, SIGCHLD, NULL...). */
bool sym_lookup(const char *name, uint64_t *value);
/* Flags as strace prints them in set: "PROT_READ|PROT_WRITE", "MAP_PRIVATE|0x400000". */
void sym_format(const struct sym_set *set, uint64_t value, GString *out);
/* An enumeration's value as strace prints it: its name (MADV_DONTFORK), else in decimal. */
void sym_format_enum(const struct sym_set *set, uint64_t value, GString *out);

#endif
