/* proctitle.h — the launcher's command line as others see it in /proc/PID/cmdline. */
#pragma once

/* Call first in main(). Moves argv's strings to private memory (argv keeps working) and
 * overwrites the original area with a fixed title, so /proc/PID/cmdline of the monitor — and of
 * init, a copy of it that the sandbox can read as /proc/1/cmdline — shows "sandbox-launcher":
 * never the launcher's host path, nor ops given as argv. */
void proctitle_hide(int argc, char **argv);
