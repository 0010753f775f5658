/* session_fs.h — the session agent's file operations, resolved inside the sandbox by the agent
 * itself (the sandbox user, under the session's Landlock, in its mount namespace and root):
 * a link planted by the sandboxed code leads only where that code could go itself. */
#pragma once
#include <stddef.h>

#include "session_wire.h"

/* Runs one request: tok[0] is the op (read PATH OFFSET LEN, write PATH MODE trunc|append|new,
 * stat PATH FOLLOW, readdir PATH, mkdir PATH MODE RECURSIVE, remove PATH RECURSIVE), the rest its
 * arguments; data the bytes after the tokens. The reply starts with the errno as a token (0:
 * done), then the op's own tokens and bytes. */
void session_fs(char **tok, int ntok, const char *data, size_t len, struct sbuf *out);
