// Validates an AsyncAPI document with the official parser (@asyncapi/parser, pinned in
// package.json) and prints its diagnostics as JSON: [{severity, code, message, path}].
// severity: 0 error, 1 warning, 2 information, 3 hint.
const fs = require("fs");
const { Parser } = require("@asyncapi/parser");

(async () => {
  const text = fs.readFileSync(process.argv[2], "utf8");
  const { document, diagnostics } = await new Parser().parse(text);
  const out = diagnostics.map((d) => ({
    severity: d.severity,
    code: d.code,
    message: d.message,
    path: d.path.join("/"),
  }));
  process.stdout.write(JSON.stringify({ parsed: document !== undefined, diagnostics: out }));
})().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(2);
});
