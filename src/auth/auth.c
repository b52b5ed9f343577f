/* auth.c - placeholder; see auth.h. */
