/* buf.c — heap buffers sized to what arrives (buf.h says why). */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int buf_reserve(void *p, size_t *cap, size_t n, size_t size) {
  void **block = p;
  if (n <= *cap && *block) return 0;
  if (n == 0) n = 1;
  if (n > SIZE_MAX / size) {
    errno = ENOMEM;
    return -1;
  }
  void *fresh = malloc(n * size);
  if (!fresh) return -1;
  free(*block);
  *block = fresh;
  *cap = n;
  return 0;
}

ssize_t buf_split(char *buf, size_t len, size_t max, char ***vec, size_t *cap) {
  size_t count = 0;
  for (const char *q = buf, *end = buf + len; q < end; count++)
    q = (const char *)memchr(q, '\0', (size_t)(end - q)) + 1;
  if (count > max) {
    errno = E2BIG;
    return -1;
  }
  if (buf_reserve(vec, cap, count + 1, sizeof(char *)) < 0) return -1;
  size_t c = 0;
  for (size_t i = 0; i < len; i += strlen(buf + i) + 1) (*vec)[c++] = buf + i;
  (*vec)[c] = NULL;
  return (ssize_t)c;
}
