/* unicode.c: UTF-8 decoding and code point classification for the tokenizers (see unicode.h). */
#include "unicode.h"

uint16_t am_ucp_flags(uint32_t cp)
{
	if (cp > 0x10FFFF)
		return 0;
	size_t lo = 0, hi = am_ucp_n_ranges; /* find the last range with start <= cp */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (am_ucp_ranges[mid].start <= cp)
			lo = mid;
		else
			hi = mid;
	}
	return am_ucp_ranges[lo].flags;
}

bool am_cp_in(const struct am_cp_span *spans, size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp < spans[mid].first)
			hi = mid;
		else if (cp > spans[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* The decoding rules follow the reference tokenizer (llama.cpp): the lead byte gives the length,
 * every continuation byte must be 10xxxxxx; overlong forms are not rejected. */
uint32_t am_utf8_next(const uint8_t *s, size_t n, size_t *len)
{
	uint8_t b = s[0];
	size_t need;
	uint32_t cp;
	if (b < 0x80) {
		*len = 1;
		return b;
	}
	if ((b & 0xE0) == 0xC0) {
		need = 1;
		cp = b & 0x1F;
	} else if ((b & 0xF0) == 0xE0) {
		need = 2;
		cp = b & 0x0F;
	} else if ((b & 0xF8) == 0xF0) {
		need = 3;
		cp = b & 0x07;
	} else {
		*len = 1;
		return 0xFFFD;
	}
	if (n < need + 1) {
		*len = 1;
		return 0xFFFD;
	}
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*len = 1;
			return 0xFFFD;
		}
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	*len = need + 1;
	return cp;
}

size_t am_utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}
