/* cli_check_domain.c - placeholder: `check domain` lands with auth/. */
#include <stdio.h>
#include <sysexits.h>

#include "cli/cli_private.h"

int
cli_check_domain(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	fputs("postroom: check domain is not built yet\n", stderr);
	return EX_UNAVAILABLE;
}
