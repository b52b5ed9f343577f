/* cli.c - placeholder until the command table lands. */
#include "cli/cli.h"

#include <stdio.h>
#include <sysexits.h>

int
cli_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("postroom: no commands yet\n", stderr);
	return EX_USAGE;
}
