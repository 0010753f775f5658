/* warm.h — the warm launcher (`sandbox-launcher --warm POOL IDLE_MS OP_BASE`): one long-lived
 * process per Sandbox that keeps POOL runs prepared ahead. See warm.c for the protocol. */
#pragma once

int warm_main(int argc, char **argv);
