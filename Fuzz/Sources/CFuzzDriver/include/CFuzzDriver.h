// libFuzzer's driver, called from each target's entry point. SwiftPM renames an executable's
// `main` to `<Target>_main` and links `main` to it, so libFuzzer's own `main` is never linked;
// the entry point hands over to the same driver instead.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
