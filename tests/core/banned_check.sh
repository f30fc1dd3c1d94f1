#!/usr/bin/env bash
# banned_check.sh CC INCLUDE_DIR: every libc call banned.h forbids must fail to compile in amlab
# code (with an error that names it), and a control file using the safe replacements must
# compile, so a failure really comes from the ban and not from a broken command line.
set -u
cc="$1"
inc="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
compile() { "$cc" -std=c17 -D_GNU_SOURCE -fsyntax-only -include "$inc/amlab/base.h" -I "$inc" "$1" 2>"$tmp/err"; }

cat >"$tmp/control.c" <<'C'
#include "amlab/str.h"
int control(char *d, size_t n, const char *s);
int control(char *d, size_t n, const char *s)
{
	long v;
	struct tm tm;
	time_t t = 0;
	gmtime_r(&t, &tm);
	return am_strlcpy(d, s, n) + am_parse_long(s, &v, "v", NULL) + (int)strlen(d);
}
C
if ! compile "$tmp/control.c"; then
	echo "FAIL: the control file does not compile:"
	cat "$tmp/err"
	exit 1
fi

declare -A calls=(
	[strcpy]='strcpy(b, s)' [strcat]='strcat(b, s)' [strncpy]='strncpy(b, s, 4)'
	[strncat]='strncat(b, s, 4)' [sprintf]='sprintf(b, "%d", 1)'
	[vsprintf]='vsprintf(b, s, ap)' [strtok]='strtok(b, s)' [atoi]='atoi(s)'
	[atol]='atol(s)' [atoll]='atoll(s)' [atof]='atof(s)' [gets]='gets(b)'
	[gmtime]='gmtime(&t)' [localtime]='localtime(&t)' [ctime]='ctime(&t)'
	[asctime]='asctime(tm)' [tmpnam]='tmpnam(b)' [rand]='rand()'
)
bad=0
for f in "${!calls[@]}"; do
	cat >"$tmp/use_$f.c" <<C
void use(char *b, const char *s, va_list ap, struct tm *tm);
void use(char *b, const char *s, va_list ap, struct tm *tm)
{
	time_t t = 0;
	(void)t; (void)tm; (void)ap; (void)s; (void)b;
	(void)${calls[$f]};
}
C
	if compile "$tmp/use_$f.c"; then
		echo "FAIL: $f compiles in amlab code"
		bad=$((bad + 1))
	elif ! grep -q "sorry_${f}_is_banned_in_amlab" "$tmp/err"; then
		echo "FAIL: $f fails to compile, but not because of the ban:"
		cat "$tmp/err"
		bad=$((bad + 1))
	fi
done
echo "${#calls[@]} banned calls checked, $bad not banned"
[ "$bad" -eq 0 ]
