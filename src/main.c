/* main.c - argv -> cli_main().  Everything else lives in src/cli/. */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
