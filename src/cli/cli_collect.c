/* cli_collect.c - placeholder: `collect` and `check pop` land with pop3/. */
#include <stdio.h>
#include <sysexits.h>

#include "cli/cli_private.h"

int
cli_collect(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	fputs("postroom: collect is not built yet\n", stderr);
	return EX_UNAVAILABLE;
}

int
cli_check_pop(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	fputs("postroom: check pop is not built yet\n", stderr);
	return EX_UNAVAILABLE;
}
