/* dkim.c - placeholder; see dkim.h. */
