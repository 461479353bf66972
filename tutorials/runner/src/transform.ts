// Turns one TypeScript cell into a script that shares its top-level names with the other
// cells of its chapter, as a notebook kernel does (the approach of Node's REPL for top-level
// await): every top-level declaration becomes a global `var` declared before an async
// function that holds the cell's statements, so later cells see earlier cells' names and the
// cell may use `await` at top level. The last expression statement becomes the return value.
import ts from "typescript";
import { IMPORT_FUNCTION } from "./protocol.js";

export class CellCompileError extends Error {
  override name = "CellCompileError";
}

// Defined in protocol.ts, which the kernel process loads without TypeScript (the
// compiler is 9 MB of JavaScript: seconds per chapter under TCG, without a compile cache).
export { IMPORT_FUNCTION } from "./protocol.js";

export interface CompiledCell {
  /** A classic script: evaluating it returns a Promise of the last expression's value. */
  code: string;
  /** Top-level names the cell declares. */
  names: string[];
}

const TRANSPILE_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  // Keeps value imports even when this cell uses a name only in a later cell.
  verbatimModuleSyntax: true,
  isolatedModules: true,
  useDefineForClassFields: true,
  sourceMap: false,
  inlineSourceMap: false,
};

function bindingNames(name: ts.BindingName, out: string[]): void {
  if (ts.isIdentifier(name)) {
    out.push(name.text);
    return;
  }
  for (const element of name.elements) {
    if (ts.isOmittedExpression(element)) continue;
    bindingNames(element.name, out);
  }
}

function hasExport(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false)
  );
}

/** Compiles a cell's TypeScript. `label` names the cell in error messages. */
export function compileCell(source: string, label: string): CompiledCell {
  const out = ts.transpileModule(source, {
    compilerOptions: TRANSPILE_OPTIONS,
    fileName: "cell.ts",
    reportDiagnostics: true,
  });
  const syntaxErrors = (out.diagnostics ?? []).filter(
    (d) => d.category === ts.DiagnosticCategory.Error,
  );
  if (syntaxErrors.length > 0) {
    const first = syntaxErrors[0]!;
    const message = ts.flattenDiagnosticMessageText(first.messageText, "\n");
    const where =
      first.file && first.start !== undefined
        ? `:${first.file.getLineAndCharacterOfPosition(first.start).line + 1}`
        : "";
    throw new CellCompileError(`${label}${where}: ${message}`);
  }
  const js = out.outputText;
  const file = ts.createSourceFile("cell.js", js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const text = (node: ts.Node) => js.slice(node.getStart(file), node.getEnd());

  const names: string[] = [];
  const hoisted: string[] = [];
  const body: string[] = [];
  const statements = file.statements.filter(
    (s) => !(ts.isExportDeclaration(s) && !s.exportClause && !s.moduleSpecifier),
  );
  let importCount = 0;

  statements.forEach((statement, position) => {
    const last = position === statements.length - 1;
    if (
      ts.isExportDeclaration(statement) ||
      ts.isExportAssignment(statement) ||
      hasExport(statement)
    ) {
      throw new CellCompileError(
        `${label}: cells cannot export; declare names at top level instead`,
      );
    }
    if (ts.isImportDeclaration(statement)) {
      const specifier = text(statement.moduleSpecifier);
      const clause = statement.importClause;
      if (!clause) {
        body.push(`await ${IMPORT_FUNCTION}(${specifier});`);
        return;
      }
      const module = `__module${importCount++}`;
      const assignments: string[] = [];
      if (clause.name) {
        names.push(clause.name.text);
        assignments.push(`${clause.name.text} = ${module}.default;`);
      }
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) {
        names.push(bindings.name.text);
        assignments.push(`${bindings.name.text} = ${module};`);
      } else if (bindings) {
        for (const element of bindings.elements) {
          const imported = (element.propertyName ?? element.name).text;
          names.push(element.name.text);
          assignments.push(`${element.name.text} = ${module}[${JSON.stringify(imported)}];`);
        }
      }
      body.push(
        `{ const ${module} = await ${IMPORT_FUNCTION}(${specifier}); ${assignments.join(" ")} }`,
      );
      return;
    }
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        const declared: string[] = [];
        bindingNames(declaration.name, declared);
        names.push(...declared);
        const target = text(declaration.name);
        const value = declaration.initializer ? text(declaration.initializer) : "undefined";
        // A destructuring pattern is also valid as an assignment pattern once parenthesized.
        body.push(`(${target} = ${value});`);
      }
      return;
    }
    if (ts.isFunctionDeclaration(statement) && statement.name) {
      names.push(statement.name.text);
      // Hoisted outside the async body, as function declarations are.
      hoisted.push(text(statement));
      return;
    }
    if (ts.isClassDeclaration(statement) && statement.name) {
      names.push(statement.name.text);
      body.push(`${statement.name.text} = (${text(statement)});`);
      return;
    }
    if (last && ts.isExpressionStatement(statement)) {
      body.push(`return (${text(statement.expression)});`);
      return;
    }
    body.push(text(statement));
  });

  const unique = [...new Set(names)];
  // `var` next to a function declaration of the same name is harmless in a classic script.
  const declarations = unique.length > 0 ? `var ${unique.join(", ")};\n` : "";
  // Strict like the module the cell reads as; top-level `var` in a classic script still
  // creates a property of the global object, which is what shares it with later cells.
  const code = `"use strict";\n${declarations}${hoisted.join("\n")}\n(async () => {\n${body.join("\n")}\n})()`;
  return { code, names: unique };
}
