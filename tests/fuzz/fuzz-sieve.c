/*
 * fuzz-sieve.c - libFuzzer target for the Sieve lexer, parser and
 * validator: arbitrary bytes are compiled (never run). Any crash, leak,
 * sanitizer report or timeout is a bug: hostile scripts come from users.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -I src -I BUILD \
 *	    tests/fuzz/fuzz-sieve.c src/rules/sieve/ *.c src/rules/action.c \
 *	    src/msg/ *.c src/lib/ *.c -lpcre2-8 -o fuzz-sieve
 *	./fuzz-sieve -max_total_time=180 CORPUS tests/fuzz/seeds-sieve
 */
#include <stddef.h>
#include <stdint.h>

#include "rules/sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ext_settings[] = { NULL, "-variables",
	    "fileinto imap4flags" };
	struct sieve_conf c = { .extensions = ext_settings[size % 3] };
	struct sieve_diags d;
	struct sieve_script *s = NULL;

	sieve_diags_init(&d);
	if (sieve_compile(&c, "fuzz.sieve", (const char *)data, size, &d,
	    &s) == 0)
		(void)sieve_needs_body(s);
	sieve_script_free(&s);
	sieve_diags_free(&d);
	return 0;
}
