#!/usr/bin/python3
"""Turns every ```cpp block of README.md and docs/*.md into C++ the test suite compiles and runs.

    extract_snippets.py SOURCE_DIR OUTPUT_DIR

writes OUTPUT_DIR/doc_snippets.cpp: one translation unit holding every block, each in a
namespace of its own, with `#line` directives so a compiler error names the Markdown file and
line. A file is rewritten only when its text changed, so an unchanged doc rebuilds nothing.
Whole programs become Catch2 test cases that run them; fragments are compiled, not run.

How a block is wrapped is said by an HTML comment right before its fence (invisible on the
rendered page), or guessed from the block when there is none:

    <!-- doc-snippet: KIND [name=NAME] [uses=NAME,...] [norun]
    optional context lines: C++ the block needs but does not show
    -->

KIND is one of
  program       a whole program with main() (the guess when the block has `int main(`): built,
                and run by a test case that expects 0. `vial::run(app, options)` is replaced
                by a run on an ephemeral loopback port that answers one request and stops
                gracefully. `norun` compiles it only (say why in the comment).
  test          Catch2 test cases (the guess when the block has `TEST_CASE(`): built and run.
  declarations  namespace-scope code (functions, classes); the context goes before it.
  statements    the guess for anything else: statements in the body of a function that has
                `vial::app& app` and `vial::request& req` in scope (a block may declare its
                own `app`), after the context lines. Leading namespace-scope declarations of
                the block (a function or class definition, a `using`) are moved out of that
                function. A block with `co_await` is in a coroutine.
`name=` names a block's namespace so a later block can see its declarations with `uses=`.
In every block `std::chrono_literals` are in scope, and a line holding only `...` stands for
code left out. `#include` lines are hoisted to the top of the unit.
"""

import os
import re
import sys

KINDS = ("program", "test", "declarations", "statements")
FENCE = re.compile(r"^(\s*)```cpp\s*$")
MARKER = re.compile(r"^\s*<!--\s*doc-snippet:\s*(.*)$")
DECLARATION_START = re.compile(
    r"^(struct|class|enum|union|template|namespace|using|typedef|#include)\b"
    r"|^[\w:<>,*& ]+\s+[\w:]+\([^=;]*\)\s*(const\s*)?(noexcept\s*)?\{\s*(//.*)?$")
STANDARD_INCLUDES = ["<cassert>", "<chrono>", "<cstdint>", "<filesystem>", "<iostream>",
                     "<memory>", "<optional>", "<string>", "<string_view>", "<thread>",
                     "<tuple>", "<vector>"]


class SnippetError(Exception):
    pass


class Block:
    def __init__(self, path, line, lines, kind, name, uses, norun, context, context_line):
        self.path = path            # relative to the source dir: "docs/async.md"
        self.line = line            # 1-based line of the first code line
        self.lines = lines
        self.kind = kind
        self.name = name
        self.uses = uses
        self.norun = norun
        self.context = context
        self.context_line = context_line

    @property
    def where(self):
        return f"{self.path}:{self.line - 1}"

    @property
    def namespace(self):
        if self.name:
            return "doc_" + self.name
        return "doc_" + re.sub(r"\W", "_", self.path) + f"_{self.line - 1}"


def parse_marker(path, lines, fence_index):
    """Finds the doc-snippet comment ending right before the fence (blank lines allowed)."""
    i = fence_index - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    if i < 0 or not lines[i].rstrip().endswith("-->"):
        return None
    end = i
    while i >= 0 and "<!--" not in lines[i]:
        i -= 1
    if i < 0:
        return None
    match = MARKER.match(lines[i])
    if not match:
        return None
    header = match.group(1)
    if i == end:
        header = header[: header.rindex("-->")]
        context = []
    else:
        context = lines[i + 1 : end]
        last = lines[end].rstrip()[:-3]
        if last.strip():
            context.append(last)
    words = header.split()
    if not words or words[0] not in KINDS:
        raise SnippetError(f"{path}:{i + 1}: doc-snippet comment needs a kind, one of "
                           f"{', '.join(KINDS)}; got {header.strip()!r}")
    options = {"kind": words[0], "name": None, "uses": [], "norun": False}
    for word in words[1:]:
        if word.startswith("name="):
            options["name"] = word[5:]
        elif word.startswith("uses="):
            options["uses"] = [u for u in word[5:].split(",") if u]
        elif word == "norun":
            options["norun"] = True
        else:
            raise SnippetError(f"{path}:{i + 1}: unknown doc-snippet option {word!r} "
                               "(name=, uses=, norun)")
    options["context"] = context
    options["context_line"] = i + 2
    return options


def read_blocks(source_dir, path):
    with open(os.path.join(source_dir, path), encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent = len(fence.group(1))
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith("```"):
            j += 1
        if j == len(lines):
            raise SnippetError(f"{path}:{i + 1}: this ```cpp block is never closed")
        code = [line[indent:] if line[:indent].isspace() else line for line in lines[i + 1 : j]]
        marker = parse_marker(path, lines, i)
        text = "\n".join(code)
        if marker:
            kind = marker["kind"]
        elif re.search(r"\bint\s+main\s*\(", text):
            kind = "program"
        elif "TEST_CASE(" in text:
            kind = "test"
        else:
            kind = "statements"
        marker = marker or {"name": None, "uses": [], "norun": False, "context": [],
                            "context_line": 0}
        blocks.append(Block(path, i + 2, code, kind, marker["name"], marker["uses"],
                            marker["norun"], marker["context"], marker["context_line"]))
        i = j + 1
    return blocks


def line_directive(line, path):
    return f'#line {line} "{path}"'


def strip_elisions(lines):
    """`...` alone on a line is prose for "code left out"; it becomes a comment."""
    return ["/* ... */" if line.strip() == "..." else line for line in lines]


def split_includes(lines):
    includes, rest = [], []
    for line in lines:
        if line.lstrip().startswith("#include"):
            includes.append(line.strip())
            rest.append("")  # keeps the line numbers of what follows
        else:
            rest.append(line)
    return includes, rest


def leading_declarations(lines):
    """How many leading lines of a statements block are namespace-scope declarations."""
    end = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("//"):
            i += 1
            continue
        if line[0].isspace() or not DECLARATION_START.match(line):
            break
        # The declaration runs to the next line at column 0 that closes it ("}" or "};").
        if line.rstrip().endswith(";"):
            i += 1
        else:
            i += 1
            while i < len(lines) and not re.match(r"^\}", lines[i]):
                i += 1
            i += 1
        end = i
    return end


def emit_block(block, out, tests):
    includes, code = split_includes(strip_elisions(block.lines))
    ns = block.namespace
    out.append(f"// {block.where}: {block.kind}")
    out.append(f"namespace {ns} {{")
    out.append("using namespace std::chrono_literals;")
    for used in block.uses:
        out.append(f"using namespace doc_{used};")
    context_lines = [line_directive(block.context_line, block.path)] + block.context
    if block.kind in ("declarations", "test"):
        if block.context:
            out.extend(context_lines)
        out.append(line_directive(block.line, block.path))
        out.extend(code)
    elif block.kind == "program":
        if block.context:
            out.extend(context_lines)
        text = "\n".join(code)
        text, mains = re.subn(r"\bint(\s+)main(\s*)\(", r"auto\1snippet_main\2(", text)
        if mains != 1:
            raise SnippetError(f"{block.where}: a program block needs exactly one "
                               "`int main(`")
        text = re.sub(r"\bvial::run\(", r"vial_doc::run_and_stop(", text)
        out.append(line_directive(block.line, block.path))
        out.append(text)
        if not block.norun:
            tests.append(f'TEST_CASE("{block.where} runs and exits with 0", "[docs]") {{\n'
                         f"  CHECK(vial_doc::call_main(&{ns}::snippet_main) == 0);\n}}")
    else:
        split = leading_declarations(code)
        if split:
            out.append(line_directive(block.line, block.path))
            out.extend(code[:split])
        body = code[split:]
        coroutine = any(re.search(r"\bco_(await|return|yield)\b", line) for line in body)
        result = "vial::task<void>" if coroutine else "void"
        out.append(f"[[maybe_unused]] {result} snippet([[maybe_unused]] vial::app& app,")
        out.append("    [[maybe_unused]] vial::request& req) {")
        out.append("  {")
        if block.context:
            out.extend(context_lines)
        out.append(line_directive(block.line + split, block.path))
        out.extend(body)
        out.append("  }")
        if coroutine:
            out.append("  co_return;")
        out.append("}")
    out.append(f"}}  // namespace {ns}")
    out.append("")
    return includes


def generate(source_dir, docs):
    blocks = []
    for path in docs:
        blocks.extend(read_blocks(source_dir, path))
    names = {}
    for block in blocks:
        if block.name:
            if block.name in names:
                raise SnippetError(f"{block.where}: name={block.name} is taken by "
                                   f"{names[block.name].where}")
            names[block.name] = block
    for block in blocks:
        for used in block.uses:
            if used not in names:
                raise SnippetError(f"{block.where}: uses={used}, but no block is named so")
    body, tests, includes = [], [], []
    # A named block comes before the blocks that use it.
    ordered = [b for b in blocks if b.name] + [b for b in blocks if not b.name]
    for block in ordered:
        includes.extend(emit_block(block, body, tests))
    head = ["// Generated by docs/snippets/extract_snippets.py from the ```cpp blocks of the",
            "// docs: edit the Markdown, not this file.",
            '#include "doc_support.hpp"', ""]
    for include in STANDARD_INCLUDES:
        head.append(f"#include {include}")
    seen = set()
    for include in includes:
        if include not in seen:
            seen.add(include)
            head.append(include)
    head.append("")
    return "\n".join(head + body + tests) + "\n", blocks


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source_dir, output_dir = sys.argv[1], sys.argv[2]
    docs = ["README.md"] + sorted(
        os.path.join("docs", name) for name in os.listdir(os.path.join(source_dir, "docs"))
        if name.endswith(".md"))
    try:
        text, blocks = generate(source_dir, docs)
    except SnippetError as e:
        sys.exit(f"error: {e}")
    os.makedirs(output_dir, exist_ok=True)
    write_if_changed(os.path.join(output_dir, "doc_snippets.cpp"), text)
    kinds = {}
    for block in blocks:
        kinds[block.kind] = kinds.get(block.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"{len(blocks)} ```cpp blocks in {len(docs)} files: {summary}")


if __name__ == "__main__":
    main()
