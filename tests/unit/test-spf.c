/* test-spf.c - placeholder until the spf module lands. */
#include "test.h"

int
main(void)
{
	return test_summary("spf");
}
