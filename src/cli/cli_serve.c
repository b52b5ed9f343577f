/* cli_serve.c - placeholder: `serve` lands with the SMTP server. */
#include <stdio.h>
#include <sysexits.h>

#include "cli/cli_private.h"

int
cli_serve(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	fputs("postroom: serve is not built yet\n", stderr);
	return EX_UNAVAILABLE;
}
