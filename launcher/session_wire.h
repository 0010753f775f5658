/* session_wire.h — the frames between the library and a session's agent (session_agent.c), on
 * the agent's stdin (requests) and stdout (replies). lib/session_wire.ts has the same numbers
 * (tests/session_test.ts checks).
 *
 * A frame: u32 little-endian length of what follows, u8 type, u32 little-endian id, payload.
 * The id names a command, an fs request or a connection, chosen by the library. Payloads are
 * NUL-terminated tokens (decimal numbers, paths, words), then raw bytes where the type says so.
 * A frame longer than SW_MAX_FRAME is refused: the agent exits, the session ends. */
#pragma once

#define SW_HEADER 9u
#define SW_MAX_PAYLOAD (1u << 20)
#define SW_MAX_FRAME (SW_MAX_PAYLOAD + 5u)

#define SESSION_FRAMES(X)                                                                          \
  /* library -> agent */                                                                           \
  X(SPAWN, 1)      /* cwd timeout_ms max_output stdin(piped|null|tty:C:R) nenv env... program args... */ \
  X(STDIN, 2)      /* bytes for the command's stdin (one chunk in flight: wait for STDIN_ACK) */  \
  X(STDIN_EOF, 3)  /* close the command's stdin */                                                 \
  X(KILL, 4)       /* signal number: to the command's process group */                            \
  X(FS, 5)         /* ntokens op args... then data */                                              \
  X(CONNECT, 6)    /* port: connect to 127.0.0.1:port inside */                                    \
  X(CONN_DATA, 7)  /* bytes for the connection (one chunk in flight: wait for CONN_ACK) */         \
  X(CONN_CLOSE, 8) /* "0": no more bytes from the host (half close); "1": drop the connection */  \
  X(USAGE, 9)      /* the session's usage so far */                                                \
  X(RESIZE, 10)    /* "COLS ROWS": the command's terminal's new size */                           \
  /* agent -> library */                                                                           \
  X(READY, 64)     /* the agent is up: its pid inside */                                           \
  X(STDOUT, 65)                                                                                    \
  X(STDERR, 66)                                                                                    \
  X(EXIT, 67)      /* code signal reason wall_us user_us sys_us maxrss_kb */                       \
  X(FS_RESULT, 68) /* errno, then the op's tokens and data */                                      \
  X(CONN_OPEN, 69) /* errno (0: connected) */                                                      \
  X(CONN_BYTES, 70)                                                                                \
  X(CONN_EOF, 71)  /* the port closed its side */                                                  \
  X(USAGE_RESULT, 72) /* source cpu_us memory_bytes memory_peak_bytes pids oom_kills */            \
  X(STDIN_ACK, 73)                                                                                 \
  X(CONN_ACK, 74)                                                                                  \
  X(SPAWN_FAILED, 75) /* stage(chdir|exec) errno */

enum session_frame {
#define SW_ENUM(id, n) SW_##id = n,
  SESSION_FRAMES(SW_ENUM)
#undef SW_ENUM
};

#include <stddef.h>
#include <stdint.h>

/* Sends one frame to the library (session_agent.c); exits when the library is gone. */
void session_send(uint8_t type, uint32_t id, const void *payload, size_t len);

/* A growing reply payload, capped at SW_MAX_PAYLOAD: a put past it fails with E2BIG. */
struct sbuf {
  char *p;
  size_t len, cap;
};
int sbuf_put(struct sbuf *b, const void *data, size_t len);
int sbuf_tok(struct sbuf *b, const char *s);
int sbuf_num(struct sbuf *b, long long n);
void sbuf_free(struct sbuf *b);

/* Splits a payload into its NUL-terminated tokens (at most max); returns how many, and in
 * *rest the bytes after the last one taken. -1 when a token is unterminated. */
int sw_tokens(char *payload, size_t len, char **tok, int max, size_t *rest);
