/*
 * bench_fuzz: generated calls per second, per check, on one core.  The
 * issue's target: 200,000 calls/s for checks 1 and 2 (invariants and the
 * reference model) together; the host check is bounded by real syscalls
 * and forks, and its rate is printed beside them.
 *
 * The machines are shared and their speed drifts, so the configurations
 * run interleaved, ROUNDS times over the same seeds, and each prints its
 * median and best rate and its median ratio to the bare replay (no check)
 * of the same round, which drifts far less than the rates do.  Prints,
 * asserts nothing.  DUPMM_HOSTRUN (set by meson) enables the host line.
 */
#include <stdio.h>
#include <stdlib.h>

#include <fuzz/fuzz.h>
#include <dupmm/mm.h>

#define ROUNDS 7
#define RUNS   300
#define OPS    200

struct config {
	const char *name;
	unsigned int checks;
	guint full_every;
	double rate[ROUNDS], ratio[ROUNDS];
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v)
{
	double s[ROUNDS];

	for (int i = 0; i < ROUNDS; i++)
		s[i] = v[i];
	qsort(s, ROUNDS, sizeof(double), cmp_double);
	return s[ROUNDS / 2];
}

static double best(const double *v)
{
	double b = 0;

	for (int i = 0; i < ROUNDS; i++)
		b = v[i] > b ? v[i] : b;
	return b;
}

static bool run(struct fuzz_options *o, struct fuzz_report *rep)
{
	GError *error = NULL;

	if (!fuzz_campaign(o, rep, &error)) {
		fprintf(stderr, "bench_fuzz: %s\n", error->message);
		g_error_free(error);
		return false;
	}
	if (rep->failures)
		fprintf(stderr, "bench_fuzz: %u failures (see %s)\n", rep->failures, o->out_dir);
	return true;
}

int main(void)
{
	struct config cfg[] = {
		{ "no check (generate and replay)", 0, 0 },
		{ "invariants", FUZZ_CHECK_INVARIANTS, 0 },
		{ "reference model", FUZZ_CHECK_MODEL, 0 },
		{ "invariants + model (the target)", FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL, 0 },
		{ "invariants + model, all of it every call",
		  FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL, 1 },
	};
	const char *hostrun = getenv("DUPMM_HOSTRUN");
	uint64_t calls = 0;

	if (phys_init(1ULL << 30)) {
		fprintf(stderr, "bench_fuzz: phys_init failed\n");
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++)
		for (size_t c = 0; c < G_N_ELEMENTS(cfg); c++) {
			struct fuzz_options o = { .seed = 1,
						  .ops = OPS,
						  .runs = RUNS,
						  .checks = cfg[c].checks,
						  .full_every = cfg[c].full_every,
						  .out_dir = "bench-fuzz-failures" };
			struct fuzz_report rep;

			if (!run(&o, &rep))
				return 1;
			calls = rep.calls;
			cfg[c].rate[r] = (double)rep.calls / rep.seconds;
			cfg[c].ratio[r] = cfg[c].rate[r] / cfg[0].rate[r];
			fuzz_report_clear(&rep);
		}
	printf("seeds 1..%d, %d ops each: %" G_GUINT64_FORMAT
	       " calls per campaign, %d rounds interleaved\n",
	       RUNS, OPS, calls, ROUNDS);
	printf("%-44s %12s %12s %18s\n", "checks", "median/s", "best/s", "ratio to no check");
	for (size_t c = 0; c < G_N_ELEMENTS(cfg); c++)
		printf("%-44s %12.0f %12.0f %18.3f\n", cfg[c].name, median(cfg[c].rate),
		       best(cfg[c].rate), median(cfg[c].ratio));
	printf("target 200000 calls/s for invariants + model: median %.2fx, best %.2fx of it\n",
	       median(cfg[3].rate) / 200000.0, best(cfg[3].rate) / 200000.0);
	if (hostrun && *hostrun) {
		struct fuzz_options o = { .seed = 2000,
					  .ops = 150,
					  .runs = 40,
					  .hostrun = hostrun,
					  .checks = FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL |
						    FUZZ_CHECK_HOST,
					  .out_dir = "bench-fuzz-failures" };
		struct fuzz_report rep;

		if (!run(&o, &rep))
			return 1;
		printf("all three checks, host included (seeds 2000..2039): %.0f calls/s overall; "
		       "the host kernel performed %" G_GUINT64_FORMAT " calls at %.0f calls/s\n",
		       (double)rep.calls / rep.seconds, rep.host_calls,
		       rep.host_seconds > 0 ? (double)rep.host_calls / rep.host_seconds : 0.0);
		fuzz_report_clear(&rep);
	}
	phys_exit();
	return 0;
}
