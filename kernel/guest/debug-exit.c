// SPDX-License-Identifier: GPL-2.0
/*
 * Power off the taskmpol VM with a status byte that QEMU turns into its own
 * exit code: QEMU exits with (value << 1) | 1 after a write to the
 * isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=0x04).
 * busybox has no way to do an outb, hence this helper.
 *
 *   debug-exit VALUE      VALUE in 0..255 (decimal or 0x..)
 *
 * If the write does not stop the machine (device missing), fall back to a
 * plain power-off so the host sees QEMU exit 0 and reports "no status".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <unistd.h>

#define DEBUG_EXIT_PORT 0xf4

int main(int argc, char **argv)
{
	char *end;
	unsigned long value;

	if (argc != 2) {
		fprintf(stderr, "usage: %s VALUE\n", argv[0]);
		return 2;
	}
	errno = 0;
	value = strtoul(argv[1], &end, 0);
	if (errno || *end || value > 255) {
		fprintf(stderr, "debug-exit: bad value '%s'\n", argv[1]);
		return 2;
	}
	sync();
	if (ioperm(DEBUG_EXIT_PORT, 4, 1) == 0) {
		outb((unsigned char)value, DEBUG_EXIT_PORT);
		/* QEMU stops the VM inside outb(); we only get here without the device. */
		fprintf(stderr, "debug-exit: no isa-debug-exit device at 0x%x\n",
			DEBUG_EXIT_PORT);
	} else {
		fprintf(stderr, "debug-exit: ioperm: %s\n", strerror(errno));
	}
	reboot(RB_POWER_OFF);
	return 1;
}
