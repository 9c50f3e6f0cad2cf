/* /proc text made comparable: see procfs.h. */
#include <stdbool.h>
#include <string.h>

#include <glib.h>

#include "procfs.h"

static bool is_header(const char *line)
{
	const char *dash = strchr(line, '-'), *sp = strchr(line, ' ');

	return dash && sp && dash < sp && g_ascii_isxdigit(line[0]);
}

/* "start-end perms offset dev inode name" with dev/inode made comparable. */
static void canonical_header(const char *line, GString *out)
{
	g_auto(GStrv) f = g_strsplit_set(line, " ", 6);
	const char *name = "";

	if (g_strv_length(f) < 5) {
		g_string_append_printf(out, "?%s\n", line);
		return;
	}
	if (f[5])
		name = g_strchug(f[5]);
	if (strcmp(name, "/dev/zero (deleted)") == 0) {
		g_string_append_printf(out, "%s %s %s shmem /dev/zero (deleted)\n", f[0], f[1],
				       f[2]);
	} else if (name[0] == '/') {
		g_autofree char *base = g_path_get_basename(name);

		g_string_append_printf(out, "%s %s %s file %s\n", f[0], f[1], f[2], base);
	} else {
		g_string_append_printf(out, "%s %s %s %s %s %s\n", f[0], f[1], f[2], f[3], f[4],
				       name);
	}
}

/*
 * LazyFree is compared: the model drains MADV_FREE's per-CPU batch where
 * the kernel does (lru_add_drain, mm/swap.c), on the one CPU the host
 * helper pins a trace to.
 */
static const char *const compared_fields[] = {
	"Size:",
	"Rss:",
	"Pss:",
	"Pss_Dirty:",
	"Shared_Clean:",
	"Shared_Dirty:",
	"Private_Clean:",
	"Private_Dirty:",
	"Anonymous:",
	"LazyFree:",
	"Locked:",
	"VmFlags:",
	NULL,
};

char *smaps_canonical(const char *smaps)
{
	g_auto(GStrv) lines = g_strsplit(smaps, "\n", -1);
	GString *out = g_string_new(NULL);

	for (int i = 0; lines[i]; i++) {
		if (is_header(lines[i])) {
			canonical_header(lines[i], out);
			continue;
		}
		for (int j = 0; compared_fields[j]; j++)
			if (g_str_has_prefix(lines[i], compared_fields[j])) {
				g_autofree char *v =
					g_strstrip(g_strdup(lines[i] + strlen(compared_fields[j])));

				g_string_append_printf(out, "  %s %s\n", compared_fields[j], v);
			}
	}
	return g_string_free(out, FALSE);
}

char *maps_canonical(const char *maps)
{
	g_auto(GStrv) lines = g_strsplit(maps, "\n", -1);
	GString *out = g_string_new(NULL);

	for (int i = 0; lines[i]; i++)
		if (*lines[i])
			canonical_header(lines[i], out);
	return g_string_free(out, FALSE);
}

char *procfs_first_difference(const char *what, const char *host, const char *model)
{
	g_auto(GStrv) h = g_strsplit(host, "\n", -1), m = g_strsplit(model, "\n", -1);
	int i = 0;

	while (h[i] && m[i] && strcmp(h[i], m[i]) == 0)
		i++;
	return g_strdup_printf("%s: the host has '%s', the model '%s'", what, h[i] ? h[i] : "(end)",
			       m[i] ? m[i] : "(end)");
}
