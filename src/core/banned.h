/* Functions that invite overflows or silent failures, made compile errors
 * (git's banned.h idea).  Use snprintf, strdup, husk_parse_long. */
#ifndef HUSK_BANNED_H
#define HUSK_BANNED_H

#define BANNED(f) sorry_##f##_is_banned_in_husk

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gets
#define gets(x) BANNED(gets)

#endif
