"""ES modules joined into one classic script: the widget that host sites embed with a plain `<script src>`.

The widget's modules (web/static/widget/) share dom.js, http.js and sse.js with the staff pages, which load them
as ES modules. Host sites keep the one classic script they embed (a module script from another origin would need
CORS on our side and a new snippet on theirs), so `GET /static/widget.js` serves the modules joined: each module
once, after the modules it imports, inside one strict-mode function, with the `import` lines dropped and
`export ` removed. That is all it takes for modules written to these rules, which are checked (anything else
fails the first request, loudly, and the unit tests):

- an import is one line, `import { a, b } from "./x.js";` (relative; no renaming, default or namespace import),
  and names only what that module exports; modules do not import each other in a circle;
- an export is `export` before a declaration: `function`, `async function`, `const`, `let` or `class`;
- no two modules declare the same name at their top level (in one function they would clash); top-level
  declarations start at the beginning of their line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from deskpilot.errors import DeskpilotError

IMPORT = re.compile(r'import \{ ([\w$]+(?:, [\w$]+)*) \} from "(\.\.?/[\w./-]+\.js)";')
DECLARATION = re.compile(r"(?:async function\*?|function\*?|const|let|var|class) +([\w$]+)")
EXPORTED = ("function ", "async function ", "const ", "let ", "class ")


class BundleError(DeskpilotError):
    """A module breaks a rule the bundle relies on (see the module docstring)."""


@dataclass
class _Module:
    path: Path
    lines: list[str] = field(default_factory=list)  # without its imports and export keywords
    imports: list[tuple[Path, list[str]]] = field(default_factory=list)
    exports: set[str] = field(default_factory=set)
    declared: set[str] = field(default_factory=set)  # top-level names, exported or not


def _read(path: Path) -> _Module:
    module = _Module(path)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{number}"
        if line.startswith("import"):
            match = IMPORT.fullmatch(line)
            if not match:
                raise BundleError(f"{where}: an import must be one line `import {{ a, b }} from \"./x.js\";`")
            module.imports.append(((path.parent / match[2]).resolve(), match[1].split(", ")))
            continue
        exported = line.startswith("export")
        if exported:
            line = line.removeprefix("export ")
            if not line.startswith(EXPORTED):
                raise BundleError(f"{where}: only a declaration can be exported (export function/const/let/class)")
        declaration = DECLARATION.match(line)
        if declaration:
            module.declared.add(declaration[1])
            if exported:
                module.exports.add(declaration[1])
        module.lines.append(line)
    return module


def bundle(entry: Path, root: Path) -> str:
    """`entry` and every module it imports (paths shown relative to `root`) as one classic script.

    Raises:
        BundleError: a module breaks one of the rules above, or imports a file that is not there.
    """
    modules: dict[Path, _Module] = {}
    order: list[_Module] = []  # each module after what it imports: the order ES modules run in

    def visit(path: Path, chain: tuple[Path, ...]) -> None:
        if path in chain:
            raise BundleError(f"import cycle: {' -> '.join(p.name for p in (*chain, path))}")
        if path in modules:
            return
        if not path.is_file():
            raise BundleError(f"{chain[-1].name if chain else 'entry'} imports {path.name}, which is not there")
        module = modules[path] = _read(path)
        for target, names in module.imports:
            visit(target, (*chain, path))
            missing = sorted(set(names) - modules[target].exports)
            if missing:
                raise BundleError(f"{path.name} imports {', '.join(missing)} which {target.name} does not export")
        order.append(module)

    visit(entry.resolve(), ())
    owner: dict[str, Path] = {}
    for module in order:
        for name in module.declared:
            if name in owner:
                raise BundleError(f"{name} is declared at the top of both {owner[name].name} and {module.path.name}")
            owner[name] = module.path
    names = [str(module.path.relative_to(root.resolve())) for module in order]
    parts = [f"/* Built by Deskpilot from {', '.join(names)} (web/static/): edit those modules. */",
             "(function () {", '"use strict";']
    for name, module in zip(names, order, strict=True):
        rule = f"// ---- {name} "
        parts += ["", rule + "-" * max(4, 100 - len(rule)), *module.lines]
    parts.append("})();")
    return "\n".join(parts) + "\n"
