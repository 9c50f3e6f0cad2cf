/*
 * The project's GError domain (owner: emu/kernel; defined in
 * emu/kernel/syscall_table.c, which every program links): failures of the
 * host side, never of the model (the model returns -errno).
 */
#ifndef DUPMM_ERROR_H
#define DUPMM_ERROR_H

#include <glib.h>

#define DUPMM_ERROR (dupmm_error_quark())
GQuark dupmm_error_quark(void);
enum dupmm_error_code {
	DUPMM_ERROR_PARSE, /* a line of the input is malformed */
	DUPMM_ERROR_IO,	   /* a file could not be read or written */
	DUPMM_ERROR_HOST,  /* the host refused something the model needs */
};

#endif
