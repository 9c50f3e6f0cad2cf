#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

void phys_setup(void) { ck_assert_int_eq(phys_init(1ULL << 30), 0); }

void phys_teardown(void) { phys_exit(); }

static bool is_header(const char *line)
{
	const char *dash = strchr(line, '-'), *sp = strchr(line, ' ');

	return dash && sp && dash < sp && g_ascii_isxdigit(line[0]);
}

void assert_vm_valid(void)
{
	g_autoptr(GString) why = g_string_new(NULL);

	ck_assert_msg(mm_warn_count == 0, "%lu MM_WARN_ON fired", mm_warn_count);
	if (!validate_vm(why))
		ck_abort_msg("validate_vm:\n%s", why->str);
}

int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

const char *test_env(const char *name)
{
	const char *v = getenv(name);

	ck_assert_msg(v != NULL, "environment variable %s is not set (run through meson test)",
		      name);
	return v;
}

#include <dupmm/uapi.h>

long map_anon(struct mm_struct *mm, uint64_t addr, uint64_t len, uint64_t prot)
{
	return vm_mmap_pgoff(mm, NULL, addr, len, prot,
			     MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_FIXED_NOREPLACE_, 0);
}

long map_shared_anon(struct mm_struct *mm, uint64_t addr, uint64_t len, uint64_t prot)
{
	return vm_mmap_pgoff(mm, NULL, addr, len, prot,
			     MAP_SHARED_ | MAP_ANONYMOUS_ | MAP_FIXED_NOREPLACE_, 0);
}

int count_vmas(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	int n = 0;

	for (struct vm_area_struct *v = find_vma(mm, start); v && v->vm_start < end;
	     v = vma_next(mm, v))
		n++;
	return n;
}

uint64_t flags_at(struct mm_struct *mm, uint64_t addr)
{
	struct vm_area_struct *v = find_vma(mm, addr);

	return (v && v->vm_start <= addr) ? v->vm_flags : 0;
}

/* The smaps block of the VMA holding addr. */
static char *smaps_block(struct mm_struct *mm, uint64_t addr)
{
	g_autoptr(GString) s = g_string_new(NULL);
	g_auto(GStrv) lines = NULL;
	GString *out = g_string_new(NULL);
	bool in = false;

	show_smaps(mm, s);
	lines = g_strsplit(s->str, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		if (is_header(lines[i])) {
			uint64_t a, b;

			sscanf(lines[i], "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x", &a, &b);
			in = a <= addr && addr < b;
		}
		if (in) {
			g_string_append(out, lines[i]);
			g_string_append_c(out, '\n');
		}
	}
	return g_string_free(out, FALSE);
}

long smaps_kb(struct mm_struct *mm, uint64_t addr, const char *field)
{
	g_autofree char *b = smaps_block(mm, addr);
	const char *p = strstr(b, field);

	return p ? strtol(p + strlen(field), NULL, 10) : -1;
}

char *vmflags_at(struct mm_struct *mm, uint64_t addr)
{
	g_autofree char *b = smaps_block(mm, addr);
	const char *p = strstr(b, "VmFlags: ");

	if (p == NULL)
		return g_strdup("");
	return g_strstrip(g_strndup(p + 9, strcspn(p + 9, "\n")));
}

long status_kb(struct mm_struct *mm, const char *field)
{
	g_autoptr(GString) s = g_string_new(NULL);
	const char *p;

	show_status(mm, s);
	p = strstr(s->str, field);
	return p ? strtol(p + strlen(field), NULL, 10) : -1;
}

uint64_t pagemap_at(struct mm_struct *mm, uint64_t addr)
{
	uint64_t e;

	pagemap_read(mm, addr & ~(PG - 1), 1, &e);
	return e;
}

int put_byte(struct mm_struct *mm, uint64_t addr, uint8_t v, uint64_t len)
{
	struct mm_fault_info fi;

	return mm_fill(mm, addr, v, len, &fi);
}

int get_byte(struct mm_struct *mm, uint64_t addr, uint8_t *v)
{
	struct mm_fault_info fi;

	return mm_read(mm, addr, v, 1, &fi);
}

struct mm_struct *fork_mm(struct mm_struct *mm)
{
	int err = 0;
	struct mm_struct *child = dup_mm(mm, &err);

	ck_assert_msg(child != NULL, "dup_mm: %d", err);
	return child;
}

struct mm_struct *test_mm;

void mm_setup(void)
{
	phys_setup();
	test_mm = mm_alloc();
}

void mm_teardown(void)
{
	assert_vm_valid();
	ck_assert_uint_eq(mm_warn_count, 0);
	mmput(test_mm);
	phys_teardown();
}

char *write_tmp(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("dupmm-XXXXXX.strace", &path, NULL);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *list_trace_names(void)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *dir_path = g_getenv("DUPMM_TRACES");
	g_autoptr(GDir) dir = g_dir_open(dir_path ? dir_path : ".", 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir)) != NULL)
		if (g_str_has_suffix(name, ".strace"))
			g_ptr_array_add(names, g_strndup(name, strlen(name) - 7));
	g_ptr_array_sort(names, cmp_names);
	return names;
}
