/* test-dns.c - placeholder until the dns module lands. */
#include "test.h"

int
main(void)
{
	return test_summary("dns");
}
