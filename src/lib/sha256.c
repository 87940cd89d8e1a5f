/* sha256.c - placeholder, being written */
typedef int sluice_sha256_placeholder;
