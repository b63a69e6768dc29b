// `node -r scripts/integration/register-ts.cjs file.ts`: runs TypeScript sources directly, transpiled in
// memory by the workspace's TypeScript (no type check). Fault tests use it to run a worker they can SIGKILL.
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function compile(module, filename) {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      experimentalDecorators: true,
      inlineSourceMap: true,
    },
  });
  module._compile(outputText, filename);
};
