/* cli_why.c - placeholder: `why` lands with intake/. */
#include <stdio.h>
#include <sysexits.h>

#include "cli/cli_private.h"

int
cli_why(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	fputs("postroom: why is not built yet\n", stderr);
	return EX_UNAVAILABLE;
}
