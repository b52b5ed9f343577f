/* dns.c - placeholder; see dns.h. */
