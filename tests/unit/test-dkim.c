/* test-dkim.c - placeholder until the dkim module lands. */
#include "test.h"

int
main(void)
{
	return test_summary("dkim");
}
