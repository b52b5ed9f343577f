/* dmarc.c - placeholder; see dmarc.h. */
