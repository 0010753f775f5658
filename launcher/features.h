/* features.h — `sandbox-launcher --features`: kernel facts only a syscall can tell. */
#pragma once
int features_print(void);
