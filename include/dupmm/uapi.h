/*
 * The user ABI of the syscalls dupmm models: Linux x86-64 values from
 * include/uapi/asm-generic/mman-common.h, mman.h, fcntl.h, linux/sched.h
 * and linux/wait.h.  Shared by mm/ and emu/, as the kernel's include/uapi
 * is; the names strace prints for them are in emu/kernel/syscall_table.c.
 *
 * Defined here rather than taken from the host's <sys/mman.h> so that the
 * model does not depend on the age of the host's C library (glibc 2.36 has
 * no MADV_GUARD_INSTALL or MAP_DROPPABLE).
 */
#ifndef DUPMM_UAPI_H
#define DUPMM_UAPI_H

#define PROT_NONE_	0x0
#define PROT_READ_	0x1
#define PROT_WRITE_	0x2
#define PROT_EXEC_	0x4
#define PROT_SEM_	0x8
#define PROT_GROWSDOWN_ 0x01000000
#define PROT_GROWSUP_	0x02000000

#define MAP_SHARED_	     0x01
#define MAP_PRIVATE_	     0x02
#define MAP_SHARED_VALIDATE_ 0x03
#define MAP_DROPPABLE_	     0x08
#define MAP_TYPE_	     0x0f
#define MAP_FIXED_	     0x10
#define MAP_ANONYMOUS_	     0x20
#define MAP_32BIT_	     0x40
#define MAP_GROWSDOWN_	     0x0100
#define MAP_DENYWRITE_	     0x0800
#define MAP_EXECUTABLE_	     0x1000
#define MAP_LOCKED_	     0x2000
#define MAP_NORESERVE_	     0x4000
#define MAP_POPULATE_	     0x8000
#define MAP_NONBLOCK_	     0x10000
#define MAP_STACK_	     0x20000
#define MAP_HUGETLB_	     0x40000
#define MAP_SYNC_	     0x80000
#define MAP_FIXED_NOREPLACE_ 0x100000
#define MAP_UNINITIALIZED_   0x4000000

#define MADV_NORMAL_	      0
#define MADV_RANDOM_	      1
#define MADV_SEQUENTIAL_      2
#define MADV_WILLNEED_	      3
#define MADV_DONTNEED_	      4
#define MADV_FREE_	      8
#define MADV_REMOVE_	      9
#define MADV_DONTFORK_	      10
#define MADV_DOFORK_	      11
#define MADV_MERGEABLE_	      12
#define MADV_UNMERGEABLE_     13
#define MADV_HUGEPAGE_	      14
#define MADV_NOHUGEPAGE_      15
#define MADV_DONTDUMP_	      16
#define MADV_DODUMP_	      17
#define MADV_WIPEONFORK_      18
#define MADV_KEEPONFORK_      19
#define MADV_COLD_	      20
#define MADV_PAGEOUT_	      21
#define MADV_POPULATE_READ_   22
#define MADV_POPULATE_WRITE_  23
#define MADV_DONTNEED_LOCKED_ 24
#define MADV_COLLAPSE_	      25
#define MADV_HWPOISON_	      100
#define MADV_SOFT_OFFLINE_    101
#define MADV_GUARD_INSTALL_   102
#define MADV_GUARD_REMOVE_    103

#define MLOCK_ONFAULT_ 0x01
#define MCL_CURRENT_   1
#define MCL_FUTURE_    2
#define MCL_ONFAULT_   4

#define MREMAP_MAYMOVE_	  1
#define MREMAP_FIXED_	  2
#define MREMAP_DONTUNMAP_ 4

#define MS_ASYNC_      1
#define MS_INVALIDATE_ 2
#define MS_SYNC_       4

#define CSIGNAL_	      0x000000ff /* the exit signal, in clone's flags */
#define CLONE_VM_	      0x00000100
#define CLONE_FS_	      0x00000200
#define CLONE_FILES_	      0x00000400
#define CLONE_SIGHAND_	      0x00000800
#define CLONE_PIDFD_	      0x00001000
#define CLONE_PTRACE_	      0x00002000
#define CLONE_VFORK_	      0x00004000
#define CLONE_PARENT_	      0x00008000
#define CLONE_THREAD_	      0x00010000
#define CLONE_NEWNS_	      0x00020000
#define CLONE_SYSVSEM_	      0x00040000
#define CLONE_SETTLS_	      0x00080000
#define CLONE_PARENT_SETTID_  0x00100000
#define CLONE_CHILD_CLEARTID_ 0x00200000
#define CLONE_DETACHED_	      0x00400000
#define CLONE_UNTRACED_	      0x00800000
#define CLONE_CHILD_SETTID_   0x01000000
#define CLONE_NEWCGROUP_      0x02000000
#define CLONE_NEWUTS_	      0x04000000
#define CLONE_NEWIPC_	      0x08000000
#define CLONE_NEWUSER_	      0x10000000
#define CLONE_NEWPID_	      0x20000000
#define CLONE_NEWNET_	      0x40000000
#define CLONE_IO_	      0x80000000ULL

#define O_ACCMODE_   03
#define O_RDONLY_    00
#define O_WRONLY_    01
#define O_RDWR_	     02
#define O_CREAT_     0100
#define O_EXCL_	     0200
#define O_NOCTTY_    0400
#define O_TRUNC_     01000
#define O_APPEND_    02000
#define O_NONBLOCK_  04000
#define O_DSYNC_     010000
#define O_DIRECT_    040000
#define O_LARGEFILE_ 0100000
#define O_DIRECTORY_ 0200000
#define O_NOFOLLOW_  0400000
#define O_NOATIME_   01000000
#define O_CLOEXEC_   02000000
#define O_SYNC_	     04010000
#define O_PATH_	     010000000
#define O_TMPFILE_   020200000
#define AT_FDCWD_    (-100)

#define WNOHANG_     0x00000001
#define WUNTRACED_   0x00000002
#define WCONTINUED_  0x00000008
#define __WNOTHREAD_ 0x20000000
#define __WALL_	     0x40000000
#define __WCLONE_    0x80000000ULL

#endif
