/* --format templates of the engine's command line: a small, documented
 * subset of Go's text/template, as docker and podman take them, with Go's
 * semantics and output.
 *
 * Actions:
 *   {{PIPELINE}}                       its value, printed
 *   {{$x := PIPELINE}}                 a variable, to the end of the
 *                                      enclosing if, with, range or text
 *   {{if P}}..{{else if P}}..{{else}}..{{end}}
 *   {{with P}}..{{else}}..{{end}}      . is P's value inside
 *   {{range P}}..{{else}}..{{end}}     . is each element of a list, or each
 *   {{range $v := P}}, {{range $k, $v := P}}   value of an object in sorted
 *                                      key order (Go's maps); $k the index
 *                                      or key; {{else}} when it is empty,
 *                                      null or missing
 *   {{ + slash-star ... star-slash + }}   a comment: prints nothing
 *   {{- and -}}                        cut the white space before, after
 * A pipeline is commands joined by |, each one's value the last argument
 * of the next: {{.Names | join ","}}.  A command is an argument, or a
 * function and its arguments, or Docker's one method, {{.Label "k"}}
 * (index .Label "k": the data holds the labels there).  Arguments: .Field.Sub (. is the data at the
 * top), $ (the data), $var and $var.Field, "strings" with Go's escapes,
 * `raw strings`, integers (0x.., 0..), floats, true, false, and
 * (PIPELINE), also (PIPELINE).Field.
 *
 * Functions:
 *   json X            compact JSON; null for no value (docker's)
 *   join LIST SEP     the elements joined by SEP (docker's)
 *   split S SEP       a list (docker's)
 *   upper, lower, title S   ASCII letters only (Go changes all of Unicode)
 *   index X K...      X[K]...: an object's key, a list's or string's index;
 *                     an object whose values are all strings, or null, is
 *                     taken as Go's map[string]string (Labels): a missing
 *                     key there is "", elsewhere <no value>
 *   len X             of a string (bytes), a list, an object; null is 0
 *   eq X Y..., ne X Y, not X, and X..., or X...   as Go's
 *   print X...        Go's fmt.Sprint
 *   printf F X...     Go's fmt.Sprintf with %v %s %q %d %x %X %o %t %f %e
 *                     %g %%, flags, width and precision; what does not
 *                     fit prints as Go's %!d(string=x)
 * Go's truth: false, 0, "", null, empty lists and objects and a missing
 * key are false.  Not taken: Go's other functions, define,
 * template, block, break, continue, assignment with =.
 *
 * Values print as Go prints them: strings as they are, numbers, true and
 * false, lists as [a b], objects as map[k:v] (keys sorted), null as <nil>,
 * a missing key inside an object value as <no value>.  \t and \n in the
 * text (not in actions) are a tab and a newline, as docker's CLI reads
 * them.
 *
 * Errors are one line: "template: WHAT in "{{action}}"" when parsed,
 * "template: executing "{{action}}": WHAT" when rendered. */
#ifndef HUSK_TEMPLATE_H
#define HUSK_TEMPLATE_H

#include <jansson.h>

#include "error.h"

struct husk_tmpl;

/* Parse text; fields (NULL-terminated) are the names a field of the data
 * ({{.Name}} outside range and with, {{$.Name}}) may start with, anything
 * else an error naming them; NULL takes any. */
int husk_tmpl_parse(const char *text, const char *const *fields, struct husk_tmpl **ret,
		    husk_error **err);
/* The text with every action replaced by its value in data (malloc'd). */
int husk_tmpl_render(const struct husk_tmpl *t, json_t *data, char **ret, husk_error **err);
void husk_tmpl_free(struct husk_tmpl *t);

#endif
