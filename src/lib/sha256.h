/* sha256.h - placeholder */
