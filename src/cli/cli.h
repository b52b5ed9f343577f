/* cli.h - the command line: `postroom [--config FILE] [--store URI] COMMAND`.
 * Exit codes follow sysexits(3). */
#ifndef PR_CLI_H
#define PR_CLI_H

int cli_main(int argc, char **argv);

#endif
