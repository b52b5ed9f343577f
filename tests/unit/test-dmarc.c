/* test-dmarc.c - placeholder until the dmarc module lands. */
#include "test.h"

int
main(void)
{
	return test_summary("dmarc");
}
