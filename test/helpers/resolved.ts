// A probe of what a node process loads: every URL its ES module loader resolves is appended to
// the file the VL_RESOLVED environment variable names.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Write the probe's modules into `dir`: give node `--import` and the URL returned. It uses
 * module.registerHooks where Node has it (in the loading thread), else module.register (the
 * hooks' own thread, hence the file).
 */
export function writeResolveProbe(dir: string): string {
  writeFileSync(
    join(dir, 'hooks.mjs'),
    "import { appendFileSync } from 'node:fs';\n" +
      'export async function resolve(specifier, context, next) {\n' +
      '  const r = await next(specifier, context);\n' +
      "  appendFileSync(process.env.VL_RESOLVED, r.url + '\\n');\n" +
      '  return r;\n' +
      '}\n',
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    "import * as mod from 'node:module';\n" +
      "import { appendFileSync } from 'node:fs';\n" +
      'if (mod.registerHooks) {\n' +
      "  mod.registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); appendFileSync(process.env.VL_RESOLVED, r.url + '\\n'); return r; } });\n" +
      '} else {\n' +
      "  mod.register(new URL('./hooks.mjs', import.meta.url));\n" +
      '}\n',
  );
  return pathToFileURL(join(dir, 'register.mjs')).href;
}
