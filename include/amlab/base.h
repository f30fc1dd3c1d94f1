/* base.h: force-included first into every amlab translation unit (see CMakeLists.txt).
 *
 * It pulls in the standard headers nearly every file needs and then banned.h, so that
 * unsafe libc calls fail to compile anywhere in the project. */
#ifndef AMLAB_BASE_H
#define AMLAB_BASE_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define AM_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define AM_MAX(a, b)    ((a) > (b) ? (a) : (b))

#if defined(__GNUC__) || defined(__clang__)
#define AM_PRINTF(fmt_idx, first_arg) __attribute__((format(printf, fmt_idx, first_arg)))
#define AM_NODISCARD                  __attribute__((warn_unused_result))
#else
#define AM_PRINTF(fmt_idx, first_arg)
#define AM_NODISCARD
#endif

#include "amlab/banned.h"

#endif
