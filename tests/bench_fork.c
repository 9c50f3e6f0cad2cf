/*
 * bench_fork: fork of a process with 1 GiB of touched private anonymous
 * memory (262,144 pages), simulated and real, side by side in one run;
 * the same with the range MADV_WIPEONFORK at two sizes; and the model's
 * metadata per resident page.  Prints figures and ratios; asserts nothing
 * (timings on a shared machine are not pass/fail material).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dupmm/mm.h>
#include <dupmm/uapi.h>

#define GIB	    (1ULL << 30)
#define BASE	    0x200000000000ULL
#define ROUNDS	    5
#define WIPE_ROUNDS 101 /* sub-microsecond samples want more of them */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* The model: fork an mm with len bytes touched (optionally wiped), ROUNDS times. */
static double sim_fork_ns(uint64_t len, bool wipe, uint64_t *meta_bytes, uint64_t *resident)
{
	struct mm_struct *mm = mm_alloc();
	struct mm_fault_info fi;
	int rounds = wipe ? WIPE_ROUNDS : ROUNDS;
	double t[WIPE_ROUNDS];

	if (vm_mmap_pgoff(mm, NULL, BASE, len, PROT_READ_ | PROT_WRITE_,
			  MAP_PRIVATE_ | MAP_ANONYMOUS_ | MAP_FIXED_, 0) != (long)BASE ||
	    mm_fill(mm, BASE, 0x5a, len, &fi)) {
		fprintf(stderr, "bench_fork: setting up the simulated process failed\n");
		exit(1);
	}
	if (wipe)
		do_madvise(mm, BASE, len, MADV_WIPEONFORK_);
	for (int i = 0; i < rounds; i++) {
		int err = 0;
		double t0 = now_ns();
		struct mm_struct *child = dup_mm(mm, &err);

		t[i] = now_ns() - t0;
		if (child == NULL) {
			fprintf(stderr, "bench_fork: dup_mm: %d\n", err);
			exit(1);
		}
		mmput(child);
	}
	if (meta_bytes) {
		*resident = (uint64_t)mm->rss_stat[MM_ANONPAGES];
		*meta_bytes = *resident * sizeof(struct page) + (uint64_t)mm->pgtables_bytes +
			      PAGE_SIZE /* pgd */ +
			      (uint64_t)mm->pgtables_bytes / PAGE_SIZE * sizeof(struct page);
	}
	mmput(mm);
	return median(t, rounds);
}

/* The host: a real fork of the same shape (THP off for the range). */
static double real_fork_ns(uint64_t len, bool wipe)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t[ROUNDS];

	if (p == MAP_FAILED) {
		perror("bench_fork: mmap");
		exit(1);
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 0x5a, len);
	if (wipe)
		madvise(p, len, MADV_WIPEONFORK);
	for (int i = 0; i < ROUNDS; i++) {
		double t0 = now_ns();
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		t[i] = now_ns() - t0;
		waitpid(pid, NULL, 0);
	}
	munmap(p, len);
	return median(t, ROUNDS);
}

int main(void)
{
	uint64_t pages = GIB / PAGE_SIZE, meta = 0, resident = 0;
	double sim, real, sim_w_big, sim_w_small, real_w;

	if (phys_init(3 * GIB)) {
		fprintf(stderr, "bench_fork: cannot set up simulated RAM\n");
		return 1;
	}
	sim = sim_fork_ns(GIB, false, &meta, &resident);
	real = real_fork_ns(GIB, false);
	sim_w_big = sim_fork_ns(GIB, true, NULL, NULL);
	sim_w_small = sim_fork_ns(GIB / 16, true, NULL, NULL);
	real_w = real_fork_ns(GIB, true);

	printf("fork of 1 GiB touched private anonymous memory (%llu pages), median of %d:\n",
	       (unsigned long long)pages, ROUNDS);
	printf("  simulated: %10.3f ms  %6.2f ns/page\n", sim / 1e6, sim / (double)pages);
	printf("  host:      %10.3f ms  %6.2f ns/page\n", real / 1e6, real / (double)pages);
	printf("  ratio simulated/host: %.3f (target: at most 20 ns/page, %s)\n", sim / real,
	       sim / (double)pages <= 20.0 ? "met" : "NOT met");
	printf("fork with the range MADV_WIPEONFORK (simulated: median of %d):\n", WIPE_ROUNDS);
	printf("  simulated, 1 GiB:  %10.3f us\n", sim_w_big / 1e3);
	printf("  simulated, 64 MiB: %10.3f us\n", sim_w_small / 1e3);
	printf("  ratio 1 GiB / 64 MiB: %.2f (independent of the page count: about 1)\n",
	       sim_w_big / sim_w_small);
	printf("  host, 1 GiB:       %10.3f us\n", real_w / 1e3);
	printf("metadata per resident page: %.2f bytes (struct page %zu, page tables and their struct pages the rest; target: at most 72)\n",
	       (double)meta / (double)resident, sizeof(struct page));
	phys_exit();
	return 0;
}
