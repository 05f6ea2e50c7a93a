/* Where a member's value sits in a JSON text, found by a scan that builds
 * no tree: see json-span.c. */
#ifndef HUSK_JSON_SPAN_H
#define HUSK_JSON_SPAN_H

#include <stddef.h>

/* Follow keys[0], keys[1], ... (n_keys of them) from the object that is the
 * whole of text[0, len) and give the byte span of the last one's value.
 * Returns 1 with *ret_off and *ret_len set; 0 when a key on the path is absent
 * or a value on the way is not an object; -1 when the scan cannot be sure:
 * text that is not well formed where it goes, nesting deeper than 512, or a
 * key on the path that is written with an escape or appears twice in its
 * object (a parser keeps the last of two; the scan would have to agree). */
int husk_json_member_span(const char *text, size_t len, const char *const *keys, size_t n_keys,
			  size_t *ret_off, size_t *ret_len);

#endif
