/*
 * bench_fuzz: generated calls per second with the invariant check after
 * every call (the target: 200,000/s for the invariant and
 * reference-model checks together, on one core).  Prints, asserts nothing.
 */
#include <stdio.h>

#include <dupmm/fuzz.h>
#include <dupmm/mm.h>

int main(void)
{
	struct fuzz_options o = { .seed = 1, .ops = 200, .runs = 1000000, .time_budget = 10,
				  .checks = FUZZ_CHECK_INVARIANTS, .out_dir = "bench-fuzz-failures" };
	struct fuzz_report rep;
	GError *error = NULL;

	if (phys_init(1ULL << 30) || !fuzz_campaign(&o, &rep, &error)) {
		fprintf(stderr, "bench_fuzz: %s\n", error ? error->message : "phys_init failed");
		return 1;
	}
	fuzz_print_summary(&o, &rep, stdout);
	printf("invariant check: %.0f calls/s (target with the reference model too: 200000; ratio %.3f)\n",
	       (double)rep.calls / rep.seconds, (double)rep.calls / rep.seconds / 200000.0);
	fuzz_report_clear(&rep);
	phys_exit();
	return 0;
}
