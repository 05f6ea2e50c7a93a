/* json-span.c: the bytes of one member's value in a JSON text, found by a
 * scan that allocates nothing and builds no tree.
 *
 * Why: linux.seccomp is 7.5 kB of the engine's 10 kB config.json, about 400
 * syscall names that a parser turns into ~2,000 nodes (a third of a
 * millisecond to build and free on these VMs, and heap pages that the
 * container's clone makes copy-on-write).  When its filter is in the
 * cache, create needs the profile's bytes, which are the cache key, and
 * nothing else: the seccomp code finds them here and blanks them before
 * jansson parses the rest.
 *
 * The rule: an answer is given only when it is certain, since the span is
 * then cut out of what the parser sees.  The scan follows JSON's structure
 * (strings with their escapes, nesting, separators) and answers -1 ("cannot
 * tell", the caller then parses everything) for anything it would have to
 * guess at: text not well formed where the scan goes, a key on the path
 * written with an escape (it might decode to the key sought), a key on the
 * path that appears twice (jansson keeps the last; the scan would have to
 * agree).  It does not check what a parser would still refuse (control
 * characters in strings, the grammar of numbers): jansson parses the whole
 * text afterwards, and its caller checks that the value it finds in place
 * of the span is the null the span was replaced with. */
#include "json-span.h"

#include <stdbool.h>
#include <string.h>

#define MAX_DEPTH 512

struct scan {
	const char *p, *end;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* At a '"': past the closing quote.  *ret_escaped: a backslash was in it. */
static int scan_string(struct scan *s, const char **ret_start, size_t *ret_len, bool *ret_escaped)
{
	if (s->p >= s->end || *s->p != '"')
		return -1;
	const char *start = ++s->p;
	bool escaped = false;
	for (;;) {
		/* memchr, not a loop over bytes: the scan is most of a 10 kB
		 * config's strings */
		const char *q = memchr(s->p, '"', (size_t)(s->end - s->p));
		if (!q)
			return -1;
		const char *b = memchr(s->p, '\\', (size_t)(q - s->p));
		if (!b) {
			s->p = q;
			break;
		}
		escaped = true;
		if (s->end - b < 2)
			return -1;
		s->p = b + 2; /* past the backslash and what it escapes */
	}
	if (ret_start)
		*ret_start = start;
	if (ret_len)
		*ret_len = (size_t)(s->p - start);
	if (ret_escaped)
		*ret_escaped = escaped;
	s->p++;
	return 0;
}

static int skip_value(struct scan *s, int depth);

/* At '{' or '[': past the matching close. */
static int skip_container(struct scan *s, int depth)
{
	if (depth >= MAX_DEPTH)
		return -1;
	bool object = *s->p == '{';
	char close = object ? '}' : ']';
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	for (;;) {
		if (object) {
			if (scan_string(s, NULL, NULL, NULL) < 0)
				return -1;
			skip_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return -1;
			s->p++;
		}
		if (skip_value(s, depth + 1) < 0)
			return -1;
		skip_ws(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == close) {
			s->p++;
			return 0;
		}
		if (*s->p != ',')
			return -1;
		s->p++;
		skip_ws(s);
	}
}

/* Past one value (leading blanks included). */
static int skip_value(struct scan *s, int depth)
{
	skip_ws(s);
	if (s->p >= s->end)
		return -1;
	if (*s->p == '"')
		return scan_string(s, NULL, NULL, NULL);
	if (*s->p == '{' || *s->p == '[')
		return skip_container(s, depth);
	/* true, false, null or a number: a run of the characters they use */
	const char *start = s->p;
	while (s->p < s->end && *s->p && strchr("truefalsn0123456789+-.eE", *s->p))
		s->p++;
	return s->p > start ? 0 : -1;
}

/* s at an object's '{': find key among its members.  1 with the value's
 * span, 0 if absent, -1 as the header says.  Leaves s past the object. */
static int find_member(struct scan *s, const char *key, int depth, const char **ret_v,
		       size_t *ret_vlen)
{
	if (depth >= MAX_DEPTH)
		return -1;
	size_t key_len = strlen(key);
	int found = 0;
	s->p++; /* '{' */
	skip_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		const char *k;
		size_t klen;
		bool escaped;
		if (scan_string(s, &k, &klen, &escaped) < 0)
			return -1;
		if (escaped)
			return -1;
		bool match = klen == key_len && memcmp(k, key, klen) == 0;
		if (match && found)
			return -1;
		skip_ws(s);
		if (s->p >= s->end || *s->p != ':')
			return -1;
		s->p++;
		skip_ws(s);
		const char *v = s->p;
		if (skip_value(s, depth + 1) < 0)
			return -1;
		if (match) {
			found = 1;
			*ret_v = v;
			*ret_vlen = (size_t)(s->p - v);
		}
		skip_ws(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == '}') {
			s->p++;
			return found;
		}
		if (*s->p != ',')
			return -1;
		s->p++;
		skip_ws(s);
	}
}

int husk_json_member_span(const char *text, size_t len, const char *const *keys, size_t n_keys,
			  size_t *ret_off, size_t *ret_len)
{
	struct scan s = {text, text + len};
	skip_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return -1;
	const char *v = NULL;
	size_t vlen = 0;
	for (size_t i = 0; i < n_keys; i++) {
		struct scan in = {i ? v : s.p, text + len};
		int r = find_member(&in, keys[i], (int)i, &v, &vlen);
		if (r < 0)
			return r;
		if (i == 0) {
			/* the whole text must be the one object: the scan's
			 * view of the top level is the parser's only if
			 * nothing follows it */
			skip_ws(&in);
			if (in.p != in.end)
				return -1;
		}
		if (r == 0)
			return 0;
		if (i + 1 < n_keys && *v != '{')
			return 0;
	}
	*ret_off = (size_t)(v - text);
	*ret_len = vlen;
	return 1;
}
