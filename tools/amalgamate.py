#!/usr/bin/python3
"""amalgamate.py: one C file from the vec0 sources, for builds without make.

    amalgamate.py -o dist/vec0.c [-v] -I src [-D NAME=VALUE]... FILE.c...

The .c files are concatenated in the order given.  A quoted #include of a
header found next to the including file or in an -I directory is replaced by
that header, the first time only (so headers land in dependency order, where
they were first needed); every other #include is kept.  The result builds with
one compiler call:  cc -O2 -fPIC -shared vec0.c -o vec0.so -lm

What separate translation units kept apart, one file would mix, so before
writing anything the script looks for the three ways that goes wrong:

  * static names (functions, variables, typedefs, struct/enum tags and
    enumerators of a .c file) that another .c file also uses.  A second static
    of the same name is a compile error at best; a static variable defined
    twice without initialiser silently becomes one variable; and a static
    seen before another file's call of an extern of the same name silently
    captures that call.  Each such name is renamed inside its own file
    (#define NAME vec0_<file>_NAME ... #undef NAME) and reported on stderr.
  * macros defined by a .c file: each is saved before the file and restored
    after it (#pragma push_macro / pop_macro), so none leaks into the next.
  * feature-test macros (_DEFAULT_SOURCE, _POSIX_C_SOURCE, ...) only work
    before the first system header, so they are moved to the top, with the
    -D definitions the Makefile compiles with.

What it cannot fix it refuses, with a message, and writes nothing: a static
name that a project header also uses (renaming it in one file would change
what the header means there), or the same global defined in two files.
"""

import argparse
import os
import re
import sys

PROJECT = "vec0"

TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:\\.|[^"\\\n])*")
  | (?P<chr>'(?:\\.|[^'\\\n])*')
  | (?P<id>[A-Za-z_]\w*)
  | (?P<num>\.?\d(?:[eEpP][+-]|[\w.])*)
  | (?P<op>->|\+\+|--|<<=?|>>=?|[<>=!]=|&&|\|\||[-+*/%&|^]=|\.\.\.|.)
""", re.S | re.X)

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
DEFINE_RE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)")
FEATURE_RE = re.compile(r"^_[A-Z0-9_]*_SOURCE$")
AGGREGATE_WORDS = {"struct", "union", "enum"}
ATTRIBUTE_WORDS = {"__attribute__", "__declspec", "__asm__", "asm"}


class AmalgamationError(Exception):
    pass


def logical_lines(text):
    """The lines of text, with backslash-continued lines joined."""
    return text.replace("\\\n", " ").split("\n")


def code_text(text):
    """text without its preprocessor lines (all #if branches kept)."""
    return "\n".join(l for l in logical_lines(text) if not l.lstrip().startswith("#"))


def defined_macros(text):
    """Names text #defines (feature-test macros aside)."""
    return {m.group(1) for line in logical_lines(text) for m in [DEFINE_RE.match(line)]
            if m and not FEATURE_RE.match(m.group(1))}


def tokens(text):
    """(kind, text) tokens of C code, comments and whitespace dropped."""
    out = []
    for m in TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind not in ("ws", "comment"):
            out.append((kind, m.group()))
    return out


def identifiers(text):
    """Every identifier of text outside comments, strings and char literals."""
    return {t for k, t in tokens(text) if k == "id"}


def group(toks, path):
    """Nests (), [] and {}: a list of tokens and (open, [items]) groups."""
    closing = {"(": ")", "[": "]", "{": "}"}
    stack = [("", [])]
    for kind, text in toks:
        if kind == "op" and text in closing:
            stack.append((text, []))
        elif kind == "op" and text in (")", "]", "}"):
            opener, items = stack.pop()
            if not stack or closing.get(opener) != text:
                raise AmalgamationError("%s: unbalanced '%s'" % (path, text))
            stack[-1][1].append((opener, items))
        else:
            stack[-1][1].append((kind, text))
    if len(stack) != 1:
        raise AmalgamationError("%s: unclosed '%s'" % (path, stack[-1][0]))
    return stack[0][1]


def is_group(item, opener=None):
    return item[0] in ("(", "[", "{") and (opener is None or item[0] == opener)


def is_op(item, text):
    return item == ("op", text)


def declarations(items):
    """Splits top-level items at ';' and after function bodies."""
    decls, cur = [], []
    for item in items:
        if is_op(item, ";"):
            decls.append(cur)
            cur = []
            continue
        cur.append(item)
        # A brace group right after a parameter list is a function body.
        if (is_group(item, "{") and len(cur) >= 2 and is_group(cur[-2], "(")
                and not any(is_op(i, "=") for i in cur)):
            decls.append(cur)
            cur = []
    if cur:
        decls.append(cur)
    return decls


def strip_attributes(items):
    out, skip = [], False
    for item in items:
        if skip and is_group(item, "("):
            skip = False
            continue
        skip = item[0] == "id" and item[1] in ATTRIBUTE_WORDS
        if not skip:
            out.append(item)
    return out


def declarator_name(part):
    """The name a declarator (specifiers allowed in front) declares."""
    for i, item in enumerate(part):
        if is_op(item, "="):
            part = part[:i]
            break
    while part and is_group(part[-1], "["):
        part = part[:-1]
    # A function declarator: the name is before the first parameter list, or
    # inside it for a pointer to function: (*name)(...).
    for i, item in enumerate(part):
        if is_group(item, "("):
            inner = [x for x in item[1] if x[0] == "id"]
            if item[1] and is_op(item[1][0], "*") and inner:
                return inner[-1][1]
            if i > 0 and part[i - 1][0] == "id":
                return part[i - 1][1]
    names = [x[1] for x in part if x[0] == "id"]
    return names[-1] if names else None


def file_scope_names(code, path):
    """(statics, types, external, external_defs): what a .c file declares at
    file scope.

    statics: static functions and variables, and enumerators; types:
    typedef names and struct/union/enum tags (none of these link).
    external: every other declared name, defined or not; external_defs: the
    subset this file defines (a function body, or a variable not `extern`).
    """
    statics, types, external, external_defs = set(), set(), set(), set()
    for decl in declarations(group(tokens(code), path)):
        decl = strip_attributes(decl)
        words = {x[1] for x in decl if x[0] == "id"}
        for i, item in enumerate(decl[:-1]):
            if item[0] == "id" and item[1] in AGGREGATE_WORDS:
                nxt = decl[i + 1]
                body = nxt if is_group(nxt, "{") else None
                if nxt[0] == "id" and i + 2 < len(decl) and is_group(decl[i + 2], "{"):
                    types.add(nxt[1])
                    body = decl[i + 2]
                if body is not None and item[1] == "enum":
                    part = []
                    for x in body[1] + [("op", ",")]:
                        if is_op(x, ","):
                            if part and part[0][0] == "id":
                                statics.add(part[0][1])
                            part = []
                        else:
                            part.append(x)
        # Declarators: split at top-level commas; aggregate bodies are part
        # of the specifiers and contain no top-level commas.
        parts, part = [], []
        for item in decl:
            if is_op(item, ","):
                parts.append(part)
                part = []
            else:
                part.append(item)
        parts.append(part)
        is_function_def = bool(decl) and is_group(decl[-1], "{") and \
            len(decl) >= 2 and is_group(decl[-2], "(")
        if is_function_def:
            parts = [decl[:-1]]
        for part in parts:
            # A bare "struct X {...}" declares no name beyond its tag.
            if not part or (len(part) <= 3 and part[0][0] == "id"
                            and part[0][1] in AGGREGATE_WORDS):
                continue
            name = declarator_name(part)
            if name is None or name in AGGREGATE_WORDS:
                continue
            if "typedef" in words:
                types.add(name)
            elif "static" in words:
                statics.add(name)
            else:
                external.add(name)
                prototype = any(is_group(x, "(") for x in part) and not is_function_def
                if is_function_def or ("extern" not in words and not prototype):
                    external_defs.add(name)
    return statics, types, external, external_defs


class Amalgamation:
    def __init__(self, include_dirs):
        self.include_dirs = include_dirs
        self.included = set()  # real paths of headers already inlined
        self.headers = []      # their texts, for the header check

    def find(self, name, from_dir):
        for d in [from_dir] + self.include_dirs:
            path = os.path.join(d, name)
            if os.path.isfile(path):
                return os.path.realpath(path)
        return None

    def expand(self, path, features):
        """path's lines with project headers inlined (once each)."""
        out = []
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            m = INCLUDE_RE.match(line)
            header = m and self.find(m.group(1), os.path.dirname(path))
            if header:
                if header not in self.included:
                    self.included.add(header)
                    with open(header, encoding="utf-8") as f:
                        self.headers.append((header, f.read()))
                    out.append("/* ---- %s ---- */" % rel(header))
                    out.extend(self.expand(header, features))
                    out.append("/* ---- end of %s ---- */" % rel(header))
                i += 1
                continue
            # A feature-test macro, alone or in a one-line #if block.
            block = feature_block(lines, i)
            if block:
                features.extend(lines[i:i + block])
                i += block
                continue
            out.append(line)
            i += 1
        return out


def feature_block(lines, i):
    """Lines a feature-test definition at lines[i] spans (0: none there)."""
    m = DEFINE_RE.match(lines[i])
    if m and FEATURE_RE.match(m.group(1)):
        return 1
    if (lines[i].lstrip().startswith("#if") and i + 2 < len(lines)
            and lines[i + 2].strip().startswith("#endif")):
        m = DEFINE_RE.match(lines[i + 1])
        if m and FEATURE_RE.match(m.group(1)):
            return 3
    return 0


def rel(path):
    return os.path.relpath(path)


def file_tag(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    stem = re.sub(r"\W", "_", stem)
    return stem if stem.startswith(PROJECT) else "%s_%s" % (PROJECT, stem)


C_WORDS = {"if", "while", "for", "switch", "return", "sizeof", "do", "else",
           "case", "defined", "_Alignof", "__typeof__", "typeof"} | ATTRIBUTE_WORDS


def called_names(code):
    """Names code calls as NAME(...), not as a member (p->x(), s.x())."""
    toks = tokens(code)
    out = set()
    for i in range(len(toks) - 1):
        kind, text = toks[i]
        if kind == "id" and toks[i + 1] == ("op", "(") and text not in C_WORDS:
            if i == 0 or toks[i - 1] not in (("op", "."), ("op", "->")):
                out.add(text)
    return out


def plan_renames(sources, header_texts):
    """{path: [names to rename in that file]} and notes about them.

    A file-local name N of file A is renamed when another file B would see
    it: B has its own file-local N, B declares a global N, or B calls an N
    that neither B nor a project header declares (a system function, which
    a static of A seen first would capture).  Raises AmalgamationError for
    what renaming cannot fix.
    """
    header_ids = set()
    for _, text in header_texts:
        header_ids |= identifiers(text)
    info = {}
    for path, text in sources:
        code = code_text(text)
        statics, types, external, defs = file_scope_names(code, rel(path))
        # Tags and typedefs a header declares are the header's (a .c file
        # completing an opaque struct does not make it file-local).
        internal = statics | (types - header_ids)
        foreign = called_names(code) - internal - external - header_ids - defined_macros(text)
        info[path] = (internal, external, defs, foreign)
    problems, renames, notes = [], {}, []
    owners = {}
    for path, (_, _, defs, _) in info.items():
        for name in defs:
            owners.setdefault(name, []).append(path)
    for name, paths in sorted(owners.items()):
        if len(paths) > 1:
            problems.append("global %s is defined in %s" %
                            (name, " and ".join(rel(p) for p in paths)))
    for path, (internal, _, _, _) in info.items():
        for name in sorted(internal):
            why = []
            for other, (o_int, o_ext, _, o_foreign) in info.items():
                if other == path:
                    continue
                if name in o_int:
                    why.append("also file-local in %s" % rel(other))
                if name in o_ext:
                    why.append("a global in %s" % rel(other))
                if name in o_foreign:
                    why.append("called by %s, which does not declare it" % rel(other))
            if not why:
                continue
            if name in header_ids:
                problems.append("%s of %s is %s, and a project header uses the name "
                                "too, so renaming it is not safe: rename it in the source"
                                % (name, rel(path), "; ".join(why)))
                continue
            renames.setdefault(path, []).append(name)
            notes.append("%s: %s is %s: renamed %s_%s in this file" %
                         (rel(path), name, "; ".join(why), file_tag(path), name))
    if problems:
        raise AmalgamationError("name clashes the amalgamation cannot resolve:\n  " +
                                "\n  ".join(problems))
    return renames, notes


def amalgamate(sources, include_dirs, defines):
    """The text of the amalgamation, and the notes about renamed statics."""
    amalg = Amalgamation([os.path.abspath(d) for d in include_dirs])
    features, bodies, texts = [], [], []
    for path in sources:
        with open(path, encoding="utf-8") as f:
            texts.append((path, f.read()))
        bodies.append(amalg.expand(path, features))
    renames, notes = plan_renames(texts, amalg.headers)

    out = ["/*",
           "** %s amalgamation: %s, generated by tools/amalgamate.py; do not edit." %
           (PROJECT, ", ".join(rel(p) for p in sources)),
           "** Build the loadable extension with:",
           "**   cc -O2 -fPIC -shared vec0.c -o vec0.so -lm",
           "** (add -fvisibility=hidden to export sqlite3_vec_init alone), or",
           "** compile it into a program with -DSQLITE_CORE.",
           "*/"]
    for d in defines:
        name, _, value = d.partition("=")
        out += ["#ifndef %s" % name, "#define %s %s" % (name, value or "1"), "#endif"]
    out += features
    for (path, text), body in zip(texts, bodies):
        macros = sorted(defined_macros(text))
        names = renames.get(path, [])
        out.append("/* ==== %s ==== */" % rel(path))
        out += ['#pragma push_macro("%s")' % m for m in macros]
        out += ["#define %s %s_%s" % (n, file_tag(path), n) for n in names]
        out += body
        out += ["#undef %s" % n for n in names]
        out += ["#undef %s" % m for m in macros]
        out += ['#pragma pop_macro("%s")' % m for m in macros]
        out.append("/* ==== end of %s ==== */" % rel(path))
    return "\n".join(out) + "\n", notes


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("-I", dest="include", action="append", default=[])
    ap.add_argument("-D", dest="define", action="append", default=[])
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="list each renamed file-local name")
    ap.add_argument("sources", nargs="+")
    args = ap.parse_args(argv)
    try:
        text, notes = amalgamate(args.sources, args.include, args.define)
    except (AmalgamationError, OSError) as e:
        sys.stderr.write("amalgamate: error: %s\n" % e)
        return 1
    if args.verbose:
        for note in notes:
            sys.stderr.write("amalgamate: %s\n" % note)
    elif notes:
        sys.stderr.write("amalgamate: renamed %d file-local names that other files "
                         "also use (-v lists them)\n" % len(notes))
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
