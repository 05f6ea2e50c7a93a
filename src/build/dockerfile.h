/* Dockerfiles (and Containerfiles), as Docker's reference describes them:
 * the file's structure here, its words and variables at build time.
 *
 * husk_df_parse reads the structure: the parser directives (escape,
 * syntax; others are comments), comments, line continuations with the
 * escape character (comment and empty lines inside a continued line are
 * dropped), instruction keywords in any case, leading --flags (those of
 * Docker's reference that husk takes, checked: FROM --platform; RUN
 * --mount, --network, --security; COPY --from, --chown, --chmod, --link;
 * ADD --chown, --chmod, --checksum, --link, --from; HEALTHCHECK's; any
 * other is an error, as Docker's "Unknown flag"), the exec
 * (JSON array) and shell forms, heredocs (<<EOF, <<-EOF strips leading
 * tabs, <<"EOF" and <<'EOF' are not expanded) for RUN, COPY and ADD, and
 * ONBUILD's inner instruction.  The stages are split at each FROM; ARGs
 * before the first FROM are the global ones.
 *
 * husk_df_words and husk_df_expand do what Docker's shell lexer does to
 * the words of the instructions that take them (ADD, ARG, COPY, ENV,
 * EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR): quotes
 * removed ('...' literal, "..." expanded), the escape character, and
 * $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}.
 * Not taken, as in Docker's classic builder: ${VAR#...}, ${VAR%...},
 * ${VAR/...}, command substitution. */
#ifndef HUSK_DOCKERFILE_H
#define HUSK_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum husk_df_kind {
	HUSK_DF_FROM,
	HUSK_DF_RUN,
	HUSK_DF_CMD,
	HUSK_DF_ENTRYPOINT,
	HUSK_DF_ENV,
	HUSK_DF_ARG,
	HUSK_DF_LABEL,
	HUSK_DF_EXPOSE,
	HUSK_DF_WORKDIR,
	HUSK_DF_USER,
	HUSK_DF_VOLUME,
	HUSK_DF_COPY,
	HUSK_DF_ADD,
	HUSK_DF_STOPSIGNAL,
	HUSK_DF_HEALTHCHECK,
	HUSK_DF_ONBUILD,
	HUSK_DF_SHELL,
	HUSK_DF_MAINTAINER,
};

struct husk_df_heredoc {
	char *name;	 /* the delimiter: EOF */
	char *body;	 /* the lines between, each with its newline */
	bool expand;	 /* <<EOF: variables expanded; <<"EOF", <<'EOF': not */
	bool strip_tabs; /* <<-EOF: leading tabs dropped from each line */
};

struct husk_df_insn {
	enum husk_df_kind kind;
	int line;     /* where it starts, from 1 */
	char *text;   /* as written, continuations joined: "RUN make all" */
	char **flags; /* "--from=build", in order */
	size_t n_flags;
	/* exec form: the array's strings; shell form: one string, the rest
	 * of the line (heredoc markers left in it) */
	char **args;
	size_t n_args;
	bool json;
	struct husk_df_heredoc *heredocs;
	size_t n_heredocs;
	struct husk_df_insn *onbuild; /* ONBUILD's instruction */
};

struct husk_df_stage {
	struct husk_df_insn *v; /* v[0] is its FROM */
	size_t n;
	char *name; /* FROM ... AS name, lower case; NULL */
};

struct husk_dockerfile {
	char escape;		   /* '\\' or '`' */
	struct husk_df_insn *args; /* the ARGs before the first FROM */
	size_t n_args;
	struct husk_df_stage *stages;
	size_t n_stages;
};

/* Parse text; errors are EINVAL with "FILE:LINE: what" (file names the
 * Dockerfile in messages). */
int husk_df_parse(const char *text, const char *file, struct husk_dockerfile **ret,
		  husk_error **err);
void husk_df_free(struct husk_dockerfile *df);
const char *husk_df_kind_name(enum husk_df_kind k);
/* --name=value of insn's flags: value, "" for a bare --name, NULL absent */
const char *husk_df_flag(const struct husk_df_insn *insn, const char *name);

/* A variable's value, or NULL when it is not set. */
typedef const char *(*husk_df_lookup)(const char *name, void *ud);

/* One word: quotes removed, the escape character applied, variables
 * expanded.  EINVAL for an unterminated quote or ${. */
int husk_df_expand(const char *word, char escape, husk_df_lookup lookup, void *ud, char **ret,
		   husk_error **err);
/* A line into words at unquoted blanks, each expanded as above. */
int husk_df_words(const char *line, char escape, husk_df_lookup lookup, void *ud, char ***ret,
		  size_t *ret_n, husk_error **err);

/* .dockerignore (and .containerignore): Docker's rules.  A pattern is a
 * path relative to the context (a leading / and ./ dropped, cleaned), its
 * components matched with * ? [...] and \ escapes, ** matching any number
 * of components; "!pattern" re-includes.  The last pattern that matches a
 * path or one of its parents decides.  A "**" inside a component is
 * taken as "*", and a malformed [ class literally (glibc's fnmatch). */
struct husk_ignore;
int husk_ignore_parse(const char *text, struct husk_ignore **ret, husk_error **err);
bool husk_ignore_excluded(const struct husk_ignore *ig, const char *relpath);
/* Can an excluded directory still hold a re-included path (a "!" pattern
 * under it)?  Then the walk must go in. */
bool husk_ignore_may_include_below(const struct husk_ignore *ig, const char *reldir);
void husk_ignore_free(struct husk_ignore *ig);

#endif
