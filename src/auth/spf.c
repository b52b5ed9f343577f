/* spf.c - placeholder; see spf.h. */
