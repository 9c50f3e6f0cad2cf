/*
 * dupmm: the command line.  One GOptionContext per subcommand.
 *
 * Exit status: 0 success, 1 divergences found, 2 bad usage or unreadable
 * input.
 */
#include <stdlib.h>
#include <string.h>

#include <dupmm/mm.h>
#include <dupmm/replay.h>
#include <dupmm/strace.h>

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
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	case 'T': v <<= 40; end++; break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	return *end ? 0 : v;
}

static void print_warning(const char *msg)
{
	g_printerr("dupmm: WARNING: %s\n", msg);
}

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

static const GOptionEntry ram_entry[] = {
	{ "ram", 0, 0, G_OPTION_ARG_STRING, &opt_ram,
	  "Size of simulated RAM (default 4G); running out gives the model's ENOMEM", "SIZE" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL },
};

static int cmd_replay(int argc, char **argv)
{
	gboolean maps = FALSE, smaps = FALSE, check = FALSE;
	char *proc_out = NULL;
	g_auto(GStrv) files = NULL;
	const GOptionEntry entries[] = {
		{ "proc-out", 'o', 0, G_OPTION_ARG_FILENAME, &proc_out,
		  "Write DIR/PID.maps, .smaps, .smaps_rollup and .status for every process, as it "
		  "was at exit_group (or at the end of the log)", "DIR" },
		{ "maps", 0, 0, G_OPTION_ARG_NONE, &maps, "Print each process's /proc/PID/maps", NULL },
		{ "smaps", 0, 0, G_OPTION_ARG_NONE, &smaps, "Print each process's /proc/PID/smaps", NULL },
		{ "check", 'c', 0, G_OPTION_ARG_NONE, &check,
		  "Check every invariant of the model (validate_vm) after every call", NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE" },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("FILE - replay a strace log into the model");
	g_autoptr(GError) error = NULL;
	struct replay_options opts = { 0 };
	struct replay_result res;
	int rc;

	g_option_context_set_summary(ctx,
		"Replays every call of FILE (strace -f output, plus the mem_read/mem_write\n"
		"pseudo-calls of dupmm's trace language) on the simulated mm, checks each\n"
		"result against the log, reports each divergence as FILE:LINE, and ends with\n"
		"'replayed N calls, M divergences'.  Exit status: 0 no divergence, 1\n"
		"divergences, 2 unreadable input.");
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
	rc = start_phys();
	if (rc)
		return rc;
	opts.proc_out = proc_out;
	opts.print_maps = maps;
	opts.print_smaps = smaps;
	opts.check = check;
	if (!replay_file(files[0], &opts, &res, &error)) {
		g_printerr("dupmm replay: %s\n", error->message);
		replay_result_clear(&res);
		phys_exit();
		g_free(proc_out);
		return EXIT_BADINPUT;
	}
	printf("replayed %u calls, %u divergences\n", res.calls, res.divergences);
	rc = res.divergences ? EXIT_DIVERGED : 0;
	if (mm_warn_count) {	/* a model bug: never a silent pass */
		g_printerr("dupmm replay: %lu broken invariants in the model (see WARNING lines)\n",
			   mm_warn_count);
		rc = EXIT_DIVERGED;
	}
	replay_result_clear(&res);
	phys_exit();
	g_free(proc_out);
	return rc;
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
