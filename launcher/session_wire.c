/* session_wire.c — reply payloads and token splitting for the session agent (session_wire.h). */
#include "session_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sbuf_put(struct sbuf *b, const void *data, size_t len) {
  if (len > SW_MAX_PAYLOAD - b->len) return errno = E2BIG, -1;
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return errno = ENOMEM, -1;
    b->p = p;
    b->cap = cap;
  }
  if (len) memcpy(b->p + b->len, data, len);
  b->len += len;
  return 0;
}

int sbuf_tok(struct sbuf *b, const char *s) {
  return sbuf_put(b, s, strlen(s) + 1);
}

int sbuf_num(struct sbuf *b, long long n) {
  char s[32];
  snprintf(s, sizeof s, "%lld", n);
  return sbuf_tok(b, s);
}

void sbuf_free(struct sbuf *b) {
  free(b->p);
  *b = (struct sbuf){0};
}

int sw_tokens(char *payload, size_t len, char **tok, int max, size_t *rest) {
  size_t off = 0;
  int n = 0;
  while (n < max && off < len) {
    char *end = memchr(payload + off, 0, len - off);
    if (!end) return -1;
    tok[n++] = payload + off;
    off = (size_t)(end - payload) + 1;
  }
  if (rest) *rest = off;
  return n;
}
