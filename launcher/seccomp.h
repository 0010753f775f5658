/* seccomp.h — installs the BPF program TypeScript compiled; the launcher never interprets it. */
#pragma once
#include "config.h"
#include "util.h"

int seccomp_apply(const struct config *cfg, struct sbx_err *e);
