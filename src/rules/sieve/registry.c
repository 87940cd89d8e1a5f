/*
 * registry.c - the table of Sieve extensions this build knows. Adding an
 * extension is one line here plus its own file (see sieve-int.h). The
 * order is the bit order of script->exts; SV_MAX_EXTS bounds it.
 */
#include <string.h>

#include "sieve-int.h"

static const struct sv_ext *const registry[] = {
	&sv_ext_core,
	&sv_ext_fileinto,
	&sv_ext_envelope,
	&sv_ext_reject,
	&sv_ext_ereject,
	&sv_ext_copy,
	&sv_ext_imap4flags,
	&sv_ext_body,
	&sv_ext_variables,
	&sv_ext_relational,
	&sv_ext_subaddress,
	&sv_ext_regex,
	&sv_ext_mailbox,
	&sv_ext_environment,
	&sv_ext_ihave,
	&sv_ext_encoded_character,
	&sv_ext_cmp_numeric,
	&sv_ext_cmp_octet,
	&sv_ext_cmp_casemap,
	&sv_ext_vacation,
	&sv_ext_vacation_seconds,
	&sv_ext_duplicate,
	&sv_ext_enotify,
	&sv_ext_testsuite,
	&sv_ext_include,
	&sv_ext_date,
	&sv_ext_hindex,
	&sv_ext_spamtest,
	&sv_ext_spamtestplus,
	&sv_ext_virustest,
	&sv_ext_editheader,
	&sv_ext_mime,
	&sv_ext_foreverypart,
	&sv_ext_extracttext,
	&sv_ext_vnd_pipe,
	&sv_ext_vnd_filter,
	&sv_ext_vnd_execute,
};

_Static_assert(sizeof registry / sizeof registry[0] <= SV_MAX_EXTS,
    "registry over SV_MAX_EXTS");

size_t
sv_registry_count(void)
{
	return sizeof registry / sizeof registry[0];
}

const struct sv_ext *
sv_registry_ext(size_t i)
{
	return i < sv_registry_count() ? registry[i] : NULL;
}

int
sv_ext_ptr_index(const struct sv_ext *ext)
{
	size_t i;

	/* Pointer identity: this runs for every extension state lookup,
	 * several times per rule, so no string compares. */
	for (i = 0; i < sv_registry_count(); i++)
		if (registry[i] == ext)
			return (int)i;
	return -1;
}

int
sv_ext_index(const char *name)
{
	size_t i;

	/* Called for every require check (dozens per rule): test the first
	 * byte before paying for strcmp. */
	for (i = 0; i < sv_registry_count(); i++)
		if (registry[i]->name[0] == name[0] &&
		    strcmp(registry[i]->name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * sieve_extensions as Pigeonhole reads it: a list of names replaces the
 * default set; "+name" / "-name" entries adjust it. Unknown names are
 * ignored here (the conf reader warns about them).
 */
uint64_t
sv_ext_enabled_mask(const char *setting)
{
	uint64_t all = 0, mask;
	const char *p = setting;
	int replaced = 0;
	size_t i;

	for (i = 0; i < sv_registry_count(); i++)
		if (!(registry[i]->flags & SV_EXT_HIDDEN))
			all |= (uint64_t)1 << i;
	mask = all;
	while (p != NULL && *p != '\0') {
		char name[64];
		size_t n;
		int sign = 0, idx;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '+' || *p == '-')
			sign = *p++;
		n = strcspn(p, " \t,");
		if (n < sizeof name) {
			memcpy(name, p, n);
			name[n] = '\0';
			idx = sv_ext_index(name);
			if (sign == 0 && !replaced) {
				mask = 0;
				replaced = 1;
			}
			if (idx >= 0 && sign == '-')
				mask &= ~((uint64_t)1 << idx);
			else if (idx >= 0)
				mask |= (uint64_t)1 << idx;
		}
		p += n;
	}
	/* The base language cannot be switched off. */
	for (i = 0; i < sv_registry_count(); i++)
		if (registry[i]->flags & SV_EXT_CORE)
			mask |= (uint64_t)1 << i;
	return mask;
}

void
sieve_extensions_list(struct buf *out)
{
	size_t i;

	for (i = 0; i < sv_registry_count(); i++) {
		if (registry[i]->flags & (SV_EXT_CORE | SV_EXT_HIDDEN))
			continue;
		if (out->len > 0)
			buf_addc(out, ' ');
		buf_adds(out, registry[i]->name);
	}
}
