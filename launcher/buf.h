/* buf.h — heap buffers sized to what arrives, and NUL-separated tokens split into them.
 *
 * Why not static arrays of the largest size (8 MiB frames, 2^17 tokens): each array's first
 * page lies megabytes from the next one's, so a launcher process that touches the heads of a
 * dozen of them needs a page table for each, built at start, copied at fork and freed at exit
 * in every monitor and init. Sized to the input, they share a page or two of the heap. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Makes *p hold at least n elements of size bytes (*cap counts elements). Grows only, and what
 * it held is not kept (the old block is freed: no pointer into it may be used after). Returns
 * 0, or -1 with errno ENOMEM. */
int buf_reserve(void *p, size_t *cap, size_t n, size_t size);

/* Points (*vec)[0, count) at the NUL-terminated tokens of buf[0, len) (buf[len - 1] is NUL) and
 * (*vec)[count] at NULL, *vec grown to fit (buf_reserve). Returns count, or -1 with errno:
 * E2BIG past max tokens, ENOMEM. */
ssize_t buf_split(char *buf, size_t len, size_t max, char ***vec, size_t *cap);
