/*
 * dupmm: the command line.  One GOptionContext per subcommand.
 *
 * Exit status: 0 success, 1 divergences found, 2 bad usage or unreadable
 * input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dupmm/mm.h>
#include <fuzz/checks.h>
#include <fuzz/fuzz.h>
#include <strace/replay.h>
#include <strace/strace.h>

#define EXIT_DIVERGED 1
#define EXIT_BADINPUT 2

static char *opt_ram;

/* "4G", "512M", "65536": bytes, or 0 if unreadable. */
static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = g_ascii_strtoull(s, &end, 10);

	if (end == s)
		return 0;
	switch (g_ascii_toupper(*end)) {
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'G':
		v <<= 30;
		end++;
		break;
	case 'T':
		v <<= 40;
		end++;
		break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	return *end ? 0 : v;
}

static void print_warning(const char *msg) { g_printerr("dupmm: WARNING: %s\n", msg); }

static int start_phys(void)
{
	uint64_t ram = opt_ram ? parse_size(opt_ram) : DUPMM_DEFAULT_RAM;
	int err;

	if (ram == 0) {
		g_printerr("dupmm: --ram: '%s' is not a size (try 4G or 512M)\n", opt_ram);
		return EXIT_BADINPUT;
	}
	mm_warn_handler = print_warning;
	err = phys_init(ram);
	if (err) {
		g_printerr("dupmm: cannot set up %s of simulated RAM: %s\n",
			   opt_ram ? opt_ram : "4G", g_strerror(-err));
		return EXIT_BADINPUT;
	}
	return 0;
}

static char *opt_plant;

/*
 * The hidden --plant-bug switch: a deliberate bug in the model, so that a
 * campaign or a replay can be seen to fail (test_replay runs it).
 */
static int set_planted_bug(const char *cmd)
{
	if (opt_plant == NULL)
		return 0;
	if (strcmp(opt_plant, "fork-no-wrprotect") == 0) {
		mm_planted_bug = MM_BUG_FORK_NO_WRPROTECT;
		return 0;
	}
	g_printerr("dupmm %s: --plant-bug: unknown bug '%s'\n", cmd, opt_plant);
	return EXIT_BADINPUT;
}

static const GOptionEntry ram_entry[] = {
	{ "ram", 0, 0, G_OPTION_ARG_STRING, &opt_ram,
	  "Size of simulated RAM (default 4G); running out gives the model's ENOMEM", "SIZE" },
	{ "plant-bug", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_plant, NULL, NULL },
	{ NULL, 0, 0, 0, NULL, NULL, NULL },
};

static int cmd_replay(int argc, char **argv)
{
	gboolean maps = FALSE, smaps = FALSE, check = FALSE, model = FALSE;
	char *proc_out = NULL;
	struct fuzz_checker *checker = NULL;
	g_auto(GStrv) files = NULL;
	const GOptionEntry entries[] = {
		{ "proc-out", 'o', 0, G_OPTION_ARG_FILENAME, &proc_out,
		  "Write DIR/PID.maps, .smaps, .smaps_rollup, .status and .pagemap (a summary: "
		  "procfs.h) for every process, as it was at exit_group (or at the end of the log)",
		  "DIR" },
		{ "maps", 0, 0, G_OPTION_ARG_NONE, &maps, "Print each process's /proc/PID/maps",
		  NULL },
		{ "smaps", 0, 0, G_OPTION_ARG_NONE, &smaps, "Print each process's /proc/PID/smaps",
		  NULL },
		{ "check", 'c', 0, G_OPTION_ARG_NONE, &check,
		  "Check every invariant of the model (validate_vm) after every call", NULL },
		{ "model", 'm', 0, G_OPTION_ARG_NONE, &model,
		  "Run the fuzzer's reference model beside it and compare every result, every byte "
		  "read and every page of [0x200000000000, +4 MiB) after every call",
		  NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("FILE - replay a strace log into the model");
	g_autoptr(GError) error = NULL;
	struct replay_options opts = { 0 };
	struct replay_result res;
	int rc;

	g_option_context_set_summary(
		ctx,
		"Replays every call of FILE (strace -f output, plus the mem_read/mem_write\n"
		"pseudo-calls of dupmm's trace language) on the simulated mm, checks each\n"
		"result against the log, reports each divergence as FILE:LINE, warns at the\n"
		"first line that reaches each simplification of the model (docs/divergences.md),\n"
		"and ends with 'replayed N calls, M divergences, W warnings'.  Exit status:\n"
		"0 no divergence, 1 divergences, 2 unreadable input.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_add_main_entries(ctx, ram_entry, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("dupmm replay: %s\n", error->message);
		return EXIT_BADINPUT;
	}
	if (files == NULL || files[0] == NULL || files[1] != NULL) {
		g_printerr("dupmm replay: give exactly one FILE (see dupmm replay --help)\n");
		return EXIT_BADINPUT;
	}
	rc = set_planted_bug("replay");
	if (rc)
		return rc;
	rc = start_phys();
	if (rc)
		return rc;
	opts.proc_out = proc_out;
	opts.print_maps = maps;
	opts.print_smaps = smaps;
	opts.check = check;
	if (model) {
		g_autofree char *dir = g_path_get_dirname(files[0]);

		checker =
			fuzz_checker_new(false, true, FUZZ_WINDOW_BASE, REPLAY_MODEL_PAGES, dir, 1);
		opts.on_step = fuzz_checker_step;
		opts.before_step = fuzz_checker_before;
		opts.on_step_arg = checker;
	}
	if (!replay_file(files[0], &opts, &res, &error)) {
		fuzz_checker_free(checker);
		g_printerr("dupmm replay: %s\n", error->message);
		replay_result_clear(&res);
		phys_exit();
		g_free(proc_out);
		return EXIT_BADINPUT;
	}
	fuzz_checker_free(checker);
	printf("replayed %u calls, %u divergences, %u warnings\n", res.calls, res.divergences,
	       res.warnings);
	rc = res.divergences ? EXIT_DIVERGED : 0;
	if (mm_warn_count) { /* a model bug: never a silent pass */
		g_printerr("dupmm replay: %lu broken invariants in the model (see WARNING lines)\n",
			   mm_warn_count);
		rc = EXIT_DIVERGED;
	}
	replay_result_clear(&res);
	phys_exit();
	g_free(proc_out);
	return rc;
}

/* --check LIST: FUZZ_CHECK_* bits, or -1 after saying what is wrong. */
static int parse_checks(const char *list)
{
	g_auto(GStrv) names = NULL;
	int checks = 0;

	if (list == NULL)
		return FUZZ_CHECK_INVARIANTS | FUZZ_CHECK_MODEL;
	names = g_strsplit(list, ",", -1);
	for (int i = 0; names[i]; i++) {
		if (!strcmp(names[i], "invariants")) {
			checks |= FUZZ_CHECK_INVARIANTS;
		} else if (!strcmp(names[i], "model")) {
			checks |= FUZZ_CHECK_MODEL;
		} else if (!strcmp(names[i], "host")) {
			checks |= FUZZ_CHECK_HOST;
		} else if (strcmp(names[i], "none") !=
			   0) { /* none: what the checks cost, by difference */
			g_printerr(
				"dupmm fuzz: --check: '%s' is not a check (invariants, model, host, none)\n",
				names[i]);
			return -1;
		}
	}
	return checks;
}

/* dupmm-hostrun: beside dupmm in the build tree, or on PATH; NULL if neither. */
static char *find_hostrun(void)
{
	g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = self ? g_path_get_dirname(self) : NULL;
	g_autofree char *beside =
		dir ? g_build_filename(dir, "..", "tools", "dupmm-hostrun", NULL) : NULL;

	if (beside && g_file_test(beside, G_FILE_TEST_IS_EXECUTABLE))
		return g_steal_pointer(&beside);
	return g_find_program_in_path("dupmm-hostrun");
}

/* --emit: the traces of the runs, as the campaign would check them. */
static void emit_traces(const struct fuzz_options *o)
{
	for (guint i = 0; i < o->runs; i++) {
		g_autofree char *t = NULL;

		if (o->shard_n > 1 && i % o->shard_n != o->shard_k)
			continue;
		t = fuzz_generate(o->seed + i, o->ops, !(o->checks & FUZZ_CHECK_HOST));
		printf("# seed %" G_GUINT64_FORMAT "\n%s", o->seed + i, t);
	}
}

/* A campaign with o, its summary on stdout: the exit status. */
static int run_campaign(const struct fuzz_options *o)
{
	g_autoptr(GError) error = NULL;
	struct fuzz_report rep;
	int rc = set_planted_bug("fuzz");

	if (rc == 0)
		rc = start_phys();
	if (rc)
		return rc;
	if (!fuzz_campaign(o, &rep, &error)) {
		g_printerr("dupmm fuzz: %s\n", error->message);
		rc = EXIT_BADINPUT;
	} else {
		fuzz_print_summary(o, &rep, stdout);
		rc = rep.failures ? EXIT_DIVERGED : 0;
	}
	fuzz_report_clear(&rep);
	phys_exit();
	return rc;
}

static int cmd_fuzz(int argc, char **argv)
{
	gint64 seed = 1;
	gint ops = 200, runs = 100, max_failures = 1, full_every = FUZZ_FULL_EVERY_DEFAULT, checks;
	double budget = 0;
	g_autofree char *shard = NULL, *check = NULL, *out_dir = NULL, *hostrun = NULL;
	gboolean emit = FALSE;
	const GOptionEntry entries[] = {
		{ "seed", 's', 0, G_OPTION_ARG_INT64, &seed,
		  "First seed; run i uses SEED+i (default 1)", "SEED" },
		{ "ops", 'n', 0, G_OPTION_ARG_INT, &ops, "Calls per generated trace (default 200)",
		  "N" },
		{ "runs", 'r', 0, G_OPTION_ARG_INT, &runs, "Traces to generate (default 100)",
		  "R" },
		{ "shard", 0, 0, G_OPTION_ARG_STRING, &shard,
		  "Run only the runs i with i % N == K, to spread a campaign over machines",
		  "K/N" },
		{ "time-budget", 't', 0, G_OPTION_ARG_DOUBLE, &budget,
		  "Stop starting runs after SECONDS", "SECONDS" },
		{ "check", 'c', 0, G_OPTION_ARG_STRING, &check,
		  "Checks to run, comma-separated: invariants (validate_mm and the rmap and page-table "
		  "cross-checks), model (the reference model, a separate page-granular model), host (the "
		  "host kernel as oracle, through dupmm-hostrun), none (generate and replay only, to "
		  "measure what the checks cost).  Default: invariants,model",
		  "LIST" },
		{ "full-every", 0, 0, G_OPTION_ARG_INT, &full_every,
		  "Checks invariants and model look at what each call touched after every call, and at "
		  "everything every N records and at the end (default 16; 1: everything, every call)",
		  "N" },
		{ "hostrun", 0, 0, G_OPTION_ARG_FILENAME, &hostrun,
		  "The dupmm-hostrun helper (default: beside dupmm in the build tree, or on PATH)",
		  "PATH" },
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
		  "Where shrunk failing traces go (default fuzz-failures)", "DIR" },
		{ "max-failures", 0, 0, G_OPTION_ARG_INT, &max_failures,
		  "Stop after N failures (default 1)", "N" },
		{ "emit", 0, 0, G_OPTION_ARG_NONE, &emit,
		  "Print the generated traces (with brk calls unless --check has host) instead of checking them",
		  NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("- property-test the model with random traces");
	g_autoptr(GError) error = NULL;
	struct fuzz_options o = { 0 };

	g_option_context_set_summary(
		ctx,
		"Generates random traces (several processes, anonymous and file mmap, munmap,\n"
		"mprotect, madvise, mremap, mlock, fork/vfork/clone(CLONE_VM) chains, mem_write,\n"
		"mem_read), replays each on the model with the chosen checks, and shrinks a failing\n"
		"one to a minimal trace that 'dupmm replay --check' reproduces (beside it, the data\n"
		"file the trace maps).  The same seed gives the same trace on every machine.\n"
		"Exit status: 0 no failure, 1 failures, 2 bad usage.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_add_main_entries(ctx, ram_entry, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("dupmm fuzz: %s\n", error->message);
		return EXIT_BADINPUT;
	}
	if (argc > 1 || ops <= 0 || runs <= 0 || max_failures <= 0 || full_every <= 0 || seed < 0) {
		g_printerr(
			"dupmm fuzz: --ops, --runs, --max-failures and --full-every take positive numbers, "
			"--seed a non-negative one, and there are no file arguments\n");
		return EXIT_BADINPUT;
	}
	if (shard && (sscanf(shard, "%u/%u", &o.shard_k, &o.shard_n) != 2 || o.shard_n == 0 ||
		      o.shard_k >= o.shard_n)) {
		g_printerr("dupmm fuzz: --shard: expected K/N with 0 <= K < N, got '%s'\n", shard);
		return EXIT_BADINPUT;
	}
	if ((checks = parse_checks(check)) < 0)
		return EXIT_BADINPUT;
	if ((checks & FUZZ_CHECK_HOST) && hostrun == NULL && (hostrun = find_hostrun()) == NULL) {
		g_printerr("dupmm fuzz: --check host needs dupmm-hostrun: give --hostrun PATH\n");
		return EXIT_BADINPUT;
	}
	o.seed = (uint64_t)seed;
	o.ops = (guint)ops;
	o.runs = (guint)runs;
	o.checks = (unsigned int)checks;
	o.hostrun = hostrun;
	o.time_budget = budget;
	o.out_dir = out_dir;
	o.max_failures = (guint)max_failures;
	o.full_every = (guint)full_every;
	o.out = stdout;
	if (emit) {
		emit_traces(&o);
		return 0;
	}
	return run_campaign(&o);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dupmm COMMAND [OPTIONS]\n"
		"\n"
		"A user-mode emulator of the Linux memory manager around fork().\n"
		"\n"
		"Commands:\n"
		"  replay FILE    replay a strace log into the model, checking every result\n"
		"  fuzz           property-test the model with random traces, shrinking failures\n"
		"  version        print the version\n"
		"  help           this text\n"
		"\n"
		"'dupmm COMMAND --help' describes each command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_BADINPUT;
	}
	if (!strcmp(argv[1], "replay"))
		return cmd_replay(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fuzz"))
		return cmd_fuzz(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("dupmm %s\n", DUPMM_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	g_printerr("dupmm: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_BADINPUT;
}
