/*
 * Shared test helpers: fixtures for the model, and the comparison of
 * smaps/maps text on the fields the host kernel and dupmm must agree on.
 */
#ifndef DUPMM_TESTS_COMMON_H
#define DUPMM_TESTS_COMMON_H

#include <check.h>
#include <glib.h>

#include <dupmm/mm.h>

/* Fresh simulated RAM for each test (CK_FORK runs each in its own process). */
void phys_setup(void);
void phys_teardown(void);

#include <procfs/procfs.h>

/* validate_vm, failing the test with the reasons. */
void assert_vm_valid(void);

/* A Check main: run the suite, return non-zero on failure. */
int run_suite(Suite *s);

/* Path from an environment variable set by meson, or fail. */
const char *test_env(const char *name);

#endif

/* Shorthands for the model's syscalls in tests. */
#define W  0x200000000000ULL /* the window the traces use, too */
#define PG 4096ULL
long map_anon(struct mm_struct *mm, uint64_t addr, uint64_t len, uint64_t prot);
long map_shared_anon(struct mm_struct *mm, uint64_t addr, uint64_t len, uint64_t prot);
/* VMAs overlapping [start, end). */
int count_vmas(struct mm_struct *mm, uint64_t start, uint64_t end);
uint64_t flags_at(struct mm_struct *mm, uint64_t addr);
/* One smaps field (kB) of the VMA holding addr; -1 if none. */
long smaps_kb(struct mm_struct *mm, uint64_t addr, const char *field);
long status_kb(struct mm_struct *mm, const char *field);
/* The VmFlags line of the VMA holding addr, without "VmFlags: ". */
char *vmflags_at(struct mm_struct *mm, uint64_t addr);
uint64_t pagemap_at(struct mm_struct *mm, uint64_t addr);
/* mm_fill / mm_read of one value; 0 or -EFAULT. */
int put_byte(struct mm_struct *mm, uint64_t addr, uint8_t v, uint64_t len);
int get_byte(struct mm_struct *mm, uint64_t addr, uint8_t *v);
struct mm_struct *fork_mm(struct mm_struct *mm);

/* A fixture with one fresh mm in test_mm, validated at teardown. */
extern struct mm_struct *test_mm;
void mm_setup(void);
void mm_teardown(void);

/* A temporary file holding text; the caller frees the path. */
char *write_tmp(const char *text);
/* The NAMEs of $DUPMM_TRACES/NAME.strace, sorted. */
GPtrArray *list_trace_names(void);
