/* banned.h: libc calls that are easy to misuse are a compile error in amlab code.
 *
 * Use instead: am_strlcpy / am_buf_* (strcpy, strcat, sprintf, vsprintf), am_parse_long /
 * am_parse_double (atoi, atol, atof, strtok's callers parse by hand), gmtime_r / localtime_r
 * (gmtime, localtime, ctime, asctime), am_str_split or explicit scanning (strtok).
 * Included last by base.h, after the system headers, so their declarations are untouched. */
#ifndef AMLAB_BANNED_H
#define AMLAB_BANNED_H

#define AM_BANNED(func) sorry_##func##_is_banned_in_amlab

#undef strcpy
#define strcpy(...) AM_BANNED(strcpy)
#undef strcat
#define strcat(...) AM_BANNED(strcat)
#undef strncpy
#define strncpy(...) AM_BANNED(strncpy)
#undef strncat
#define strncat(...) AM_BANNED(strncat)
#undef sprintf
#define sprintf(...) AM_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) AM_BANNED(vsprintf)
#undef strtok
#define strtok(...) AM_BANNED(strtok)
#undef atoi
#define atoi(...) AM_BANNED(atoi)
#undef atol
#define atol(...) AM_BANNED(atol)
#undef atoll
#define atoll(...) AM_BANNED(atoll)
#undef atof
#define atof(...) AM_BANNED(atof)
#undef gets
#define gets(...) AM_BANNED(gets)
#undef gmtime
#define gmtime(...) AM_BANNED(gmtime)
#undef localtime
#define localtime(...) AM_BANNED(localtime)
#undef ctime
#define ctime(...) AM_BANNED(ctime)
#undef asctime
#define asctime(...) AM_BANNED(asctime)
#undef tmpnam
#define tmpnam(...) AM_BANNED(tmpnam)
#undef rand
#define rand(...) AM_BANNED(rand)

#endif
