/*
 * Shared anonymous memory, after mm/shmem.c: the unlinked shmem object
 * behind a MAP_SHARED|MAP_ANONYMOUS mapping (shmem_zero_setup).  Its pages
 * live in the object's page cache (filemap.c), zero-filled on first use.
 */
#include "internal.h"

static uint64_t shmem_ino = 1000;

/*
 * shmem_file_setup (mm/shmem.c shmem_zero_setup): the object behind a
 * MAP_SHARED|MAP_ANONYMOUS mapping: zero-filled pages, size fixed at
 * mmap time (pages past it raise SIGBUS, even after mremap grows the
 * VMA), shown in maps as "/dev/zero (deleted)" on device 00:01.
 */
struct file *shmem_file_setup(uint64_t size)
{
	struct file *file = g_new0(struct file, 1);

	file->f_mapping = mapping_get(NULL, NULL, size, 0, 1, ++shmem_ino, true);
	file->path = g_strdup("/dev/zero (deleted)");
	file->readable = true;
	file->writable = true;
	file->refcount = 1;
	return file;
}
