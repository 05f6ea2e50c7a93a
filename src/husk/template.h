/* --format templates of the engine's command line: a small, documented
 * subset of Go's text/template, as docker and podman take them.
 *
 *   {{.Field}}            a value of the data (an object)
 *   {{.Field.Sub}}        a value inside an object value
 *   {{json .Field}}       the value as compact JSON
 *   {{.}}                 the whole data
 *   \t and \n             a tab and a newline, as docker's CLI reads them
 *
 * Values print as Go prints them: strings as they are, numbers, true and
 * false, lists as [a b], objects as map[k:v] (keys sorted), a missing key
 * inside an object value as <no value>.  Every other action (range, if,
 * index, pipes, functions other than json) is refused when parsed. */
#ifndef HUSK_TEMPLATE_H
#define HUSK_TEMPLATE_H

#include <jansson.h>

#include "error.h"

struct husk_tmpl;

/* Parse text; fields (NULL-terminated) are the names {{.Name}} may start
 * with, anything else an error naming them. */
int husk_tmpl_parse(const char *text, const char *const *fields, struct husk_tmpl **ret,
		    husk_error **err);
/* The text with every action replaced by its value in data (malloc'd). */
int husk_tmpl_render(const struct husk_tmpl *t, json_t *data, char **ret, husk_error **err);
void husk_tmpl_free(struct husk_tmpl *t);

#endif
